import { mount } from 'svelte';
import './app.css';
import App from './App.svelte';
import { installHooks } from './lib/hooks';

installHooks();
const app = mount(App, { target: document.getElementById('app')! });

export default app;
