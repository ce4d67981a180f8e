import { render, screen, fireEvent, waitFor } from '@testing-library/svelte';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import App from '../App.svelte';
import { setBackend } from '../lib/backend';
import { MockBackend, smallBoard, twoAgents } from '../test/mockBackend';
import { viewForKey } from './nav';

let mock: MockBackend;

beforeEach(() => {
  mock = new MockBackend(twoAgents());
  mock.board = smallBoard();
  mock.projects = [{ id: 'demo', name: 'demo', dir: '/work/demo' }];
  setBackend(mock);
});

afterEach(() => {
  delete window.__leapfrog;
});

describe('navigation', () => {
  it('maps Ctrl+1/2/3/4/5 to Cockpit, Board, Timeline, Review, Context and nothing else', () => {
    const key = (code: string, mods: Partial<Record<'ctrlKey' | 'altKey' | 'shiftKey' | 'metaKey', boolean>> = {}) =>
      viewForKey({ key: code.slice(-1), code, ctrlKey: false, altKey: false, shiftKey: false, metaKey: false, ...mods });
    const cases: [ReturnType<typeof key>, string | null][] = [
      [key('Digit1', { ctrlKey: true }), 'cockpit'],
      [key('Digit2', { ctrlKey: true }), 'board'],
      [key('Digit3', { ctrlKey: true }), 'timeline'],
      [key('Digit4', { ctrlKey: true }), 'review'],
      [key('Digit5', { ctrlKey: true }), 'context'],
      [key('Digit6', { ctrlKey: true }), null],
      [key('Digit2'), null],
      [key('Digit2', { ctrlKey: true, shiftKey: true }), null],
    ];
    for (const [got, want] of cases) expect(got).toBe(want);
  });

  it('switches views by shortcut and by tab, keeping the cockpit alive; lists projects; opens the wizard', async () => {
    render(App);
    await screen.findByTestId('pane-designer');
    await fireEvent.keyDown(window, { key: '2', code: 'Digit2', ctrlKey: true });
    await screen.findByTestId('batch-2');
    // The cockpit's panes stay mounted (hidden) so agents keep their terminals.
    expect(screen.getByTestId('pane-designer')).toBeTruthy();
    await fireEvent.click(screen.getByTestId('nav-timeline'));
    await screen.findByTestId('timeline');
    expect(screen.queryByTestId('board')).toBeNull();
    await fireEvent.keyDown(window, { key: '1', code: 'Digit1', ctrlKey: true });
    await waitFor(() => expect(screen.queryByTestId('timeline')).toBeNull());
    expect((await screen.findByTestId('project-demo')).textContent).toContain('/work/demo');
    await fireEvent.click(screen.getByTestId('new-project'));
    expect(screen.getByTestId('wizard')).toBeTruthy();
    await fireEvent.click(screen.getByTestId('wizard-cancel'));
    expect(screen.queryByTestId('wizard')).toBeNull();
  });

  it('toggles between the dark and the light theme', async () => {
    render(App);
    await waitFor(() => expect(document.documentElement.dataset.theme).toBe('dark'));
    await fireEvent.click(screen.getByTestId('theme-toggle'));
    expect(document.documentElement.dataset.theme).toBe('light');
    // Remembered for the next start.
    expect(localStorage.getItem('leapfrog-theme')).toBe('light');
    await fireEvent.click(screen.getByTestId('theme-toggle'));
    expect(document.documentElement.dataset.theme).toBe('dark');
  });

  it('shows a notice when an agent needs input', async () => {
    render(App);
    await waitFor(() => expect(mock.noticeHandlers).toHaveLength(1));
    mock.notice({ kind: 'needs_input', title: 'Builder needs input', body: 'codex asks to approve a command', pane: 'builder' });
    expect((await screen.findByTestId('notice')).textContent).toContain('Builder needs input');
  });
});
