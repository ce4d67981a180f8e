// Builds a complete xterm.js terminal: fit, WebGL (falling back to the DOM renderer), web links,
// search and Unicode 11 widths. Kept apart from the Svelte component so tests can stub it.
import { Terminal, type ITheme } from '@xterm/xterm';
import { FitAddon } from '@xterm/addon-fit';
import { SearchAddon } from '@xterm/addon-search';
import { Unicode11Addon } from '@xterm/addon-unicode11';
import { WebLinksAddon } from '@xterm/addon-web-links';
import { WebglAddon } from '@xterm/addon-webgl';
import xtermCss from '@xterm/xterm/css/xterm.css?inline';

export const THEME: ITheme = {
  background: '#0d1017',
  foreground: '#c9d1d9',
  cursor: '#3ddc84',
  cursorAccent: '#0d1017',
  selectionBackground: '#2a3b5c',
  black: '#1b1f27',
  red: '#f7768e',
  green: '#3ddc84',
  yellow: '#e0af68',
  blue: '#7aa2f7',
  magenta: '#bb9af7',
  cyan: '#7dcfff',
  white: '#c0caf5',
  brightBlack: '#565f89',
  brightRed: '#ff899d',
  brightGreen: '#73f0a8',
  brightYellow: '#ffc777',
  brightBlue: '#8db0ff',
  brightMagenta: '#c7a9ff',
  brightCyan: '#a4daff',
  brightWhite: '#e6edf3',
};

export type Renderer = 'webgl' | 'dom';

export interface PaneTerminal {
  term: Terminal;
  fit: FitAddon;
  search: SearchAddon;
  renderer: Renderer;
  /** The cursor blinks for a while: call on a keystroke (focusing the terminal does it too). */
  blinkAwhile(): void;
  dispose(): void;
}

/**
 * How long the cursor blinks after a keystroke or focus, then holds still (GTK's
 * cursor-blink-timeout is 10 s too). A blinking cursor is a CSS animation that keeps WebKit
 * drawing; a pane nobody types into costs nothing.
 */
export const CURSOR_BLINK_MS = 10_000;

/** Turns `set(true)` on for `ms` after each `poke`, then `set(false)`. */
export class BlinkTimeout {
  private timer: ReturnType<typeof setTimeout> | null = null;
  private on = false;

  constructor(
    private readonly set: (on: boolean) => void,
    private readonly ms: number = CURSOR_BLINK_MS,
  ) {}

  poke(): void {
    if (!this.on) {
      this.on = true;
      this.set(true);
    }
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = null;
      this.on = false;
      this.set(false);
    }, this.ms);
  }

  dispose(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }
}

export interface TerminalOptions {
  openLink: (url: string) => void;
  /** The shell found a GPU; without one WebGL is not even tried. */
  gpu: boolean;
}

let gpuVerdict: boolean | null = null;

/**
 * Whether WebGL here runs on a GPU. Software GL (llvmpipe, SwiftShader: no GPU, or Xvfb) counts
 * as unavailable: under Xvfb (llvmpipe, WebKitGTK 2.50) the WebGL addon does load and draw, but a
 * flood costs the web process no less CPU per MB than the DOM renderer (116–139 vs 106–164 ms/MB,
 * `app_bench`), with longer frame gaps (573–617 vs 238–517 ms) and ~50 MB more memory.
 */
export function hardwareWebgl(): boolean {
  if (gpuVerdict !== null) return gpuVerdict;
  gpuVerdict = false;
  try {
    const canvas = document.createElement('canvas');
    const gl = (canvas.getContext('webgl2') ?? canvas.getContext('webgl')) as WebGLRenderingContext | null;
    if (gl) {
      const info = gl.getExtension('WEBGL_debug_renderer_info');
      const renderer = String(info ? gl.getParameter(info.UNMASKED_RENDERER_WEBGL) : gl.getParameter(gl.RENDERER));
      gpuVerdict = !/llvmpipe|softpipe|swiftshader|software|lavapipe/i.test(renderer);
      gl.getExtension('WEBGL_lose_context')?.loseContext();
    }
  } catch {
    gpuVerdict = false;
  }
  return gpuVerdict;
}

let xtermSheet: CSSStyleSheet | null = null;

/**
 * Where a terminal goes: a shadow root of its own in `host`, holding xterm.css and a box that
 * fills the host. xterm.js's DOM renderer adds two style sheets per terminal (theme, 256 colours:
 * ~770 rules); in the page, each change to them (open, resize) restyled every terminal on it.
 * With seven panes open, opening an eighth took 75–130 ms and resizing it 35–63 ms; in a shadow
 * root, 11–12 ms and 1–2 ms (`app_attach_bench`, WebKitGTK 2.50 under Xvfb).
 */
export function terminalBox(host: HTMLElement): HTMLElement {
  const root = host.shadowRoot ?? host.attachShadow({ mode: 'open' });
  root.replaceChildren();
  if ('adoptedStyleSheets' in root && typeof CSSStyleSheet.prototype.replaceSync === 'function') {
    // One parsed copy of xterm.css shared by every pane.
    if (xtermSheet === null) {
      xtermSheet = new CSSStyleSheet();
      xtermSheet.replaceSync(xtermCss);
    }
    root.adoptedStyleSheets = [xtermSheet];
  } else {
    const style = document.createElement('style');
    style.textContent = xtermCss;
    root.append(style);
  }
  const box = document.createElement('div');
  box.className = 'terminal-box';
  box.style.width = '100%';
  box.style.height = '100%';
  root.append(box);
  return box;
}

export function createTerminal(host: HTMLElement, opts: TerminalOptions): PaneTerminal {
  const term = new Terminal({
    allowProposedApi: true,
    // Blinks only for a while after a keystroke or focus (`BlinkTimeout`).
    cursorBlink: false,
    // Noto Sans Symbols 2 (bundled, symbols subset only, fetched only when a glyph needs it) draws
    // what agent TUIs print and common monospace fonts lack: Claude Code's ⏺ ⎿ ✻ ❯.
    fontFamily: '"JetBrains Mono", "Fira Code", "DejaVu Sans Mono", "Liberation Mono", "Noto Sans Symbols 2", monospace',
    fontSize: 13,
    lineHeight: 1.1,
    scrollback: 10000,
    theme: THEME,
    macOptionIsMeta: true,
    // OSC 8 hyperlinks from pane output go through the same policy as plain URLs: the backend's
    // `open_link`, which opens http(s) only (xterm.js would otherwise confirm() and window.open
    // any scheme).
    linkHandler: {
      activate: (_event, uri) => opts.openLink(uri),
      allowNonHttpProtocols: true,
    },
  });
  const fit = new FitAddon();
  const search = new SearchAddon();
  term.loadAddon(fit);
  term.loadAddon(search);
  term.loadAddon(new WebLinksAddon((_event, url) => opts.openLink(url)));
  term.loadAddon(new Unicode11Addon());
  term.unicode.activeVersion = '11';
  term.open(terminalBox(host));

  let renderer: Renderer = 'dom';
  if (opts.gpu && hardwareWebgl()) {
    try {
      const webgl = new WebglAddon();
      webgl.onContextLoss(() => webgl.dispose());
      term.loadAddon(webgl);
      renderer = 'webgl';
    } catch {
      // WebGL failed after all: xterm keeps its DOM renderer.
    }
  }
  const blink = new BlinkTimeout((on) => {
    term.options.cursorBlink = on;
  });
  const onFocus = () => blink.poke();
  term.textarea?.addEventListener('focus', onFocus);
  return {
    term,
    fit,
    search,
    renderer,
    blinkAwhile: () => blink.poke(),
    dispose: () => {
      blink.dispose();
      term.textarea?.removeEventListener('focus', onFocus);
      term.dispose();
    },
  };
}
