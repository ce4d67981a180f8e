import { describe, expect, it } from 'vitest';
import { createTerminal, hardwareWebgl } from './terminal';

describe('createTerminal', () => {
  it('falls back to the DOM renderer without a GPU and loads the addons', () => {
    const host = document.createElement('div');
    document.body.appendChild(host);
    const t = createTerminal(host, { openLink: () => {}, gpu: true });
    expect(hardwareWebgl()).toBe(false);
    expect(t.renderer).toBe('dom');
    expect(t.term.unicode.activeVersion).toBe('11');
    expect(host.querySelector('.xterm')).not.toBeNull();
    t.dispose();
  });
});
