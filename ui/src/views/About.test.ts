import { render, screen, fireEvent } from '@testing-library/svelte';
import { describe, expect, it } from 'vitest';
import About from './About.svelte';
import { MockBackend } from '../test/mockBackend';
import { setBackend } from '../lib/backend';

describe('about', () => {
  it('shows the versions and which agent CLIs were found, and closes with Esc or Close', async () => {
    const mock = new MockBackend({ panes: [], workdir: '/w', bench: false, gpu: false });
    mock.aboutValue = {
      version: '0.3.0',
      engineVersion: '0.3.0',
      agentClis: [
        { cli: 'claude-code', program: 'claude', path: '/u/bin/claude', version: '2.1.332 (Claude Code)', error: null },
        { cli: 'codex', program: 'codex', path: null, version: null, error: null },
      ],
    };
    setBackend(mock);
    let closed = 0;
    render(About, { onClose: () => (closed += 1) });
    expect((await screen.findByTestId('about-version')).textContent).toBe('0.3.0');
    const items = [...screen.getByTestId('about-clis').querySelectorAll('li')].map((li) => [
      li.dataset.cli,
      li.dataset.found,
      li.textContent?.replace(/\s+/g, ' ').trim(),
    ]);
    expect(items).toEqual([
      ['claude', 'yes', 'claude 2.1.332 (Claude Code)'],
      ['codex', 'no', 'codex not found on PATH'],
    ]);
    await fireEvent.click(screen.getByTestId('about-copy-diagnostics'));
    expect((await screen.findByTestId('about-copied')).textContent).toContain('Copied to the clipboard');
    expect(mock.calls).toContainEqual({ cmd: 'clipboardWrite', text: 'Leapfrog 0.1.0 (engine 0.1.0)' });
    await fireEvent.keyDown(window, { key: 'Escape' });
    await fireEvent.click(screen.getByTestId('about-close'));
    expect(closed).toBe(2);
  });
});
