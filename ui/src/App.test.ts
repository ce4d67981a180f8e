import { render, screen, fireEvent, waitFor } from '@testing-library/svelte';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import App from './App.svelte';
import { setBackend } from './lib/backend';
import { MockBackend, twoAgents } from './test/mockBackend';

let mock: MockBackend;

beforeEach(() => {
  mock = new MockBackend(twoAgents());
  setBackend(mock);
});

afterEach(() => {
  delete window.__leapfrog;
});

/** A pane's terminal textarea: the terminal lives in the pane host's shadow root. */
function textarea(paneId: string): HTMLTextAreaElement {
  const host = screen.getByTestId(paneId).querySelector('.term-host');
  const area = host?.shadowRoot?.querySelector('textarea');
  if (!area) throw new Error(`no terminal in ${paneId}`);
  return area;
}

async function cockpit() {
  render(App);
  await screen.findByTestId('pane-designer');
  await waitFor(() => expect(mock.callsOf('attach')).toHaveLength(2));
}

describe('cockpit', () => {
  it('shows one pane per agent, titled by role and command, and the Logs pane', async () => {
    await cockpit();
    expect(screen.getByTestId('pane-designer').textContent).toContain('Designer · claude');
    expect(screen.getByTestId('pane-builder').textContent).toContain('Builder · codex');
    expect(screen.getByTestId('logs')).toBeTruthy();
    // Panes are side by side, in cockpit order.
    const ids = Array.from(document.querySelectorAll('[data-testid^="pane-"]')).map((e) =>
      e.getAttribute('data-testid'),
    );
    expect(ids).toEqual(['pane-designer', 'pane-builder']);
  });

  it('reads the run state again on a run event, not on a log line', async () => {
    await cockpit();
    await waitFor(() => expect(mock.liveHandlers.length).toBeGreaterThan(0));
    // The refresh is a timer: run every due timer at once instead of waiting to see.
    vi.useFakeTimers({ toFake: ['setTimeout'] });
    try {
      vi.runAllTimers();
      const before = mock.liveStateReads;
      const say = (kind: string) =>
        mock.liveHandlers.forEach((h) => h({ kind, agent: null, text: `${kind} line`, status: null }));
      say('log');
      vi.runAllTimers();
      expect(mock.liveStateReads).toBe(before);
      say('phase_completed');
      vi.runAllTimers();
      expect(mock.liveStateReads).toBe(before + 1);
    } finally {
      vi.useRealTimers();
    }
  });

  it('attaches every pane with a real size', async () => {
    await cockpit();
    for (const call of mock.callsOf('attach')) {
      expect(call.size.cols).toBeGreaterThan(0);
      expect(call.size.rows).toBeGreaterThan(0);
    }
    expect(mock.callsOf('attach').map((c) => c.paneId).sort()).toEqual(['builder', 'designer']);
  });

  it('writes output to the terminal and acknowledges it once rendered', async () => {
    await cockpit();
    mock.output('designer', 'hello from the shell\r\n');
    await waitFor(() => expect(window.__leapfrog?.panes.designer.text()).toContain('hello from the shell'));
    await waitFor(() => expect(mock.callsOf('ack').reduce((n, c) => n + c.bytes, 0)).toBe(22));
    expect(mock.callsOf('ack').every((c) => c.paneId === 'designer')).toBe(true);
    await waitFor(() =>
      expect(mock.callsOf('mark')).toContainEqual({ cmd: 'mark', mark: { kind: 'firstPaint', paneId: 'designer' } }),
    );
  });

  it('sends typed keys to its own pane only', async () => {
    await cockpit();
    const area = textarea('pane-builder');
    fireEvent.input(area, { data: 'x', inputType: 'insertText' });
    await waitFor(() => expect(mock.callsOf('write')).toHaveLength(1));
    expect(mock.callsOf('write')[0]).toMatchObject({ paneId: 'builder', data: 'x', binary: false });
  });

  it('pastes the clipboard into the focused pane with Ctrl+Shift+V, not with Ctrl+V', async () => {
    await cockpit();
    mock.clipboard = 'pasted text';
    const area = textarea('pane-designer');
    await fireEvent.keyDown(area, { key: 'V', code: 'KeyV', keyCode: 86, ctrlKey: true, shiftKey: true });
    await waitFor(() => expect(mock.callsOf('write')).toHaveLength(1));
    expect(mock.callsOf('write')[0]).toMatchObject({ paneId: 'designer', data: 'pasted text' });
  });

  it('maximises a pane with Ctrl+Shift+Enter from its terminal', async () => {
    await cockpit();
    const area = textarea('pane-designer');
    await fireEvent.keyDown(area, { key: 'Enter', code: 'Enter', keyCode: 13, ctrlKey: true, shiftKey: true });
    expect(screen.getByTestId('pane-builder').parentElement!.classList.contains('hidden')).toBe(true);
    expect(mock.callsOf('write')).toHaveLength(0);
  });

  it('maximises a pane and restores it', async () => {
    await cockpit();
    const designerSlot = () => screen.getByTestId('pane-designer').parentElement!;
    const builderSlot = () => screen.getByTestId('pane-builder').parentElement!;
    await fireEvent.click(screen.getByTestId('maximise-builder'));
    expect(designerSlot().classList.contains('hidden')).toBe(true);
    expect(builderSlot().classList.contains('hidden')).toBe(false);
    expect(screen.getByTestId('logs').parentElement!.classList.contains('hidden')).toBe(true);
    expect(screen.getByTestId('maximise-builder').getAttribute('aria-label')).toBe('Restore');
    await fireEvent.click(screen.getByTestId('maximise-builder'));
    expect(designerSlot().classList.contains('hidden')).toBe(false);
    expect(screen.getByTestId('logs').parentElement!.classList.contains('hidden')).toBe(false);
  });

  it('shows a pane as exited when its process ends', async () => {
    await cockpit();
    mock.exit('builder', 3);
    await waitFor(() => expect(screen.getByTestId('status-builder').textContent).toContain('exited (3)'));
    expect(screen.getByTestId('status-designer').textContent).not.toContain('exited');
  });

  it('opens search with its button and closes it with Escape', async () => {
    await cockpit();
    const pane = screen.getByTestId('pane-designer');
    await fireEvent.click(pane.querySelector('button[aria-label="Search"]')!);
    const input = await waitFor(() => pane.querySelector('input[aria-label="Find in pane"]') as HTMLInputElement);
    expect(input).toBeTruthy();
    await fireEvent.keyDown(input, { key: 'Escape' });
    expect(pane.querySelector('input[aria-label="Find in pane"]')).toBeNull();
  });

  it('shows the app log, newest last', async () => {
    await cockpit();
    mock.log(0, 'first line');
    mock.log(1, 'second line', 'warn');
    mock.log(2, 'third line', 'error');
    const logs = screen.getByTestId('logs');
    await waitFor(() => expect(logs.querySelectorAll('li')).toHaveLength(3));
    const texts = Array.from(logs.querySelectorAll('li .message')).map((e) => e.textContent);
    expect(texts).toEqual(['first line', 'second line', 'third line']);
    expect(logs.querySelectorAll('li')[2].classList.contains('level-error')).toBe(true);
  });

  it('reports a backend failure instead of a blank window', async () => {
    mock.cockpit = async () => {
      throw new Error('backend down');
    };
    render(App);
    expect((await screen.findByRole('alert')).textContent).toContain('backend down');
  });
});

describe('welcome on the first run', () => {
  it('opens when no project was ever opened, closes, and reopens from the top bar', async () => {
    await cockpit();
    expect(await screen.findByTestId('welcome')).toBeTruthy();
    await fireEvent.click(screen.getByTestId('welcome-close'));
    expect(screen.queryByTestId('welcome')).toBeNull();
    await fireEvent.click(screen.getByTestId('welcome-open'));
    expect(await screen.findByTestId('welcome')).toBeTruthy();
  });

  it('stays closed once a project is known, and the demo button opens the demo project', async () => {
    mock.projects = [{ id: 'p', name: 'p', dir: '/p' }];
    await cockpit();
    // The decision is made once both reads are answered; the cockpit is up by then.
    await waitFor(() => expect(screen.getByTestId('nav-cockpit')).toBeTruthy());
    await new Promise((r) => setTimeout(r, 50));
    expect(screen.queryByTestId('welcome')).toBeNull();
    await fireEvent.click(screen.getByTestId('welcome-open'));
    await fireEvent.click(await screen.findByTestId('welcome-demo'));
    await waitFor(() => expect(screen.queryByTestId('welcome')).toBeNull());
    expect(mock.calls).toContainEqual({ cmd: 'demoOpen' });
  });
});

describe('new window', () => {
  it('opens another window on the project shown, from the button and with Ctrl+Shift+N', async () => {
    mock.current = { id: 'demo', name: 'demo', dir: '/work/demo' };
    await cockpit();
    await fireEvent.click(screen.getByTestId('new-window'));
    await fireEvent.keyDown(textarea('pane-designer'), { key: 'N', ctrlKey: true, shiftKey: true });
    await waitFor(() => expect(mock.callsOf('newWindow')).toHaveLength(2));
    expect(mock.callsOf('newWindow').map((c) => c.dir)).toEqual(['/work/demo', '/work/demo']);
    // Not typed into the terminal.
    expect(mock.callsOf('write')).toHaveLength(0);
  });

  it('says why when no window could be opened', async () => {
    mock.newWindow = async () => {
      throw new Error('cannot open another window: no such file');
    };
    await cockpit();
    await fireEvent.click(screen.getByTestId('new-window'));
    await waitFor(() => expect(screen.getByTestId('new-window').title).toContain('cannot open another window'));
  });
});
