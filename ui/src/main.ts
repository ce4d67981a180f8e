import { mount } from 'svelte';
import './app.css';
// Only the symbols subset: the terminal's fallback for agent TUI glyphs (see lib/terminal.ts).
import '@fontsource/noto-sans-symbols-2/symbols-400.css';
import App from './App.svelte';
import { installHooks } from './lib/hooks';

installHooks();
const app = mount(App, { target: document.getElementById('app')! });

export default app;
