import { afterEach, describe, expect, it, vi } from 'vitest';
import { BlinkTimeout, CURSOR_BLINK_MS, createTerminal, hardwareWebgl } from './terminal';

describe('createTerminal', () => {
  it('falls back to the DOM renderer without a GPU and loads the addons', () => {
    const host = document.createElement('div');
    document.body.appendChild(host);
    const t = createTerminal(host, { openLink: () => {}, gpu: true });
    expect(hardwareWebgl()).toBe(false);
    expect(t.renderer).toBe('dom');
    expect(t.term.unicode.activeVersion).toBe('11');
    // In the host's own shadow root, with xterm.css beside it.
    expect(host.querySelector('.xterm')).toBeNull();
    expect(host.shadowRoot?.querySelector('.xterm')).not.toBeNull();
    const root = host.shadowRoot!;
    const css =
      root.adoptedStyleSheets?.length > 0
        ? Array.from(root.adoptedStyleSheets[0].cssRules, (r) => r.cssText).join('\n')
        : (root.querySelector('style')?.textContent ?? '');
    expect(css).toContain('.xterm-helper-textarea');
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

describe('BlinkTimeout', () => {
  afterEach(() => vi.useRealTimers());

  it('blinks after each poke for a while, then holds still', () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const seen: boolean[] = [];
    const b = new BlinkTimeout((on) => seen.push(on), 1000);
    b.poke();
    expect(seen).toEqual([true]);
    vi.advanceTimersByTime(900);
    // A keystroke before the end starts the while again, without switching twice.
    b.poke();
    vi.advanceTimersByTime(900);
    expect(seen).toEqual([true]);
    vi.advanceTimersByTime(100);
    expect(seen).toEqual([true, false]);
    b.poke();
    expect(seen).toEqual([true, false, true]);
    b.dispose();
    vi.advanceTimersByTime(5000);
    expect(seen).toEqual([true, false, true]);
  });

  it('is what a terminal does: still at first, blinking once focused, still again after', () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const host = document.createElement('div');
    document.body.appendChild(host);
    const t = createTerminal(host, { openLink: () => {}, gpu: false });
    expect(t.term.options.cursorBlink).toBe(false);
    t.term.focus();
    expect(t.term.options.cursorBlink).toBe(true);
    vi.advanceTimersByTime(CURSOR_BLINK_MS);
    expect(t.term.options.cursorBlink).toBe(false);
    t.blinkAwhile();
    expect(t.term.options.cursorBlink).toBe(true);
    t.dispose();
  });
});
