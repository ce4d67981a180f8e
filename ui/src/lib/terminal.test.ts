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

  it('sends OSC 8 hyperlinks through the same openLink as plain URLs', () => {
    const host = document.createElement('div');
    document.body.appendChild(host);
    const opened: string[] = [];
    const t = createTerminal(host, { openLink: (url) => opened.push(url), gpu: false });
    const handler = t.term.options.linkHandler;
    expect(handler).toBeTruthy();
    // Every scheme reaches openLink, whose backend check refuses all but http(s).
    handler!.activate(new MouseEvent('click'), 'file:///etc/passwd', undefined as never);
    handler!.activate(new MouseEvent('click'), 'https://example.org/', undefined as never);
    expect(opened).toEqual(['file:///etc/passwd', 'https://example.org/']);
    t.dispose();
  });
});
