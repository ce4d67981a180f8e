// Read-only test and bench hooks on `window.__leapfrog`: E2E tests read a pane's screen through
// WebDriver `execute` (DOM text joins rows without newlines), benches read acknowledged byte counts.
import type { Terminal } from '@xterm/xterm';

export interface PaneHook {
  /** The pane's whole buffer (scrollback + screen), one line per row, trailing blanks trimmed. */
  text(): string;
  /** The visible screen only. */
  screen(): string;
  cols(): number;
  rows(): number;
  /** Lines in the buffer: scrollback and screen. */
  lines(): number;
  /** Output bytes xterm.js has parsed and we acknowledged. */
  acked(): number;
  /** Selects the last buffer line containing `text` (as a mouse drag would); false if none. */
  selectLineWith(text: string): boolean;
  renderer: string;
  /** Calls `listener` after each render of the terminal (benches watch a pane without a
   * requestAnimationFrame loop, which would make the page draw every frame); returns the
   * unsubscribe. */
  onRender(listener: () => void): () => void;
}

/** When (Date.now()) a pane's terminal went through each step of its latest mount (benches). */
export interface PaneTiming {
  mount: number;
  created?: number;
  attached?: number;
  painted?: number;
}

interface Hooks {
  panes: Record<string, PaneHook>;
  timings: Record<string, PaneTiming>;
  /** How many times a terminal was mounted for each pane id (a remount starts blank). */
  mounts: Record<string, number>;
  /** Longest gap between animation frames (ms) since the last reset (bench mode only). */
  maxFrameGapMs: number;
  resetFrameGap(): void;
}

declare global {
  interface Window {
    __leapfrog?: Hooks;
  }
}

function hooks(): Hooks {
  if (!window.__leapfrog) {
    const h: Hooks = {
      panes: {},
      timings: {},
      mounts: {},
      maxFrameGapMs: 0,
      resetFrameGap() {
        h.maxFrameGapMs = 0;
      },
    };
    window.__leapfrog = h;
  }
  return window.__leapfrog;
}

let tracking = false;

/**
 * Bench mode only: watch every animation frame to find the longest gap. Never on in normal use,
 * where a per-frame callback would keep an idle window drawing.
 */
export function trackFrameGaps(): void {
  if (tracking || typeof requestAnimationFrame !== 'function') return;
  tracking = true;
  const h = hooks();
  let last = performance.now();
  const tick = (now: number) => {
    h.maxFrameGapMs = Math.max(h.maxFrameGapMs, now - last);
    last = now;
    requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
}

export function bufferLines(term: Terminal, from: number, to: number): string {
  const buf = term.buffer.active;
  const lines: string[] = [];
  for (let y = from; y < to; y++) {
    lines.push(buf.getLine(y)?.translateToString(true) ?? '');
  }
  return lines.join('\n').replace(/\n+$/, '');
}

export function registerPane(id: string, term: Terminal, acked: () => number, renderer: string): () => void {
  const h = hooks();
  h.mounts[id] = (h.mounts[id] ?? 0) + 1;
  h.panes[id] = {
    text: () => bufferLines(term, 0, term.buffer.active.length),
    screen: () => {
      const base = term.buffer.active.viewportY;
      return bufferLines(term, base, base + term.rows);
    },
    cols: () => term.cols,
    rows: () => term.rows,
    lines: () => term.buffer.active.length,
    acked,
    selectLineWith: (text) => {
      const buf = term.buffer.active;
      for (let y = buf.length - 1; y >= 0; y--) {
        const line = buf.getLine(y)?.translateToString(true) ?? '';
        const x = line.indexOf(text);
        if (x >= 0) {
          term.select(x, y, text.length);
          return true;
        }
      }
      return false;
    },
    renderer,
    onRender: (listener) => {
      const d = term.onRender(() => listener());
      return () => d.dispose();
    },
  };
  return () => {
    delete h.panes[id];
  };
}

/** Records a step of a pane's mount ('mount' starts a new record). */
export function markPane(id: string, step: keyof PaneTiming): void {
  const h = hooks();
  if (step === 'mount') h.timings[id] = { mount: Date.now() };
  else if (h.timings[id] && h.timings[id][step] === undefined) h.timings[id][step] = Date.now();
}

export function installHooks(): void {
  hooks();
}

/** The longest frame gap since the last call, then starts a new span. */
export function takeFrameGap(): number {
  const h = hooks();
  const gap = h.maxFrameGapMs;
  h.resetFrameGap();
  return gap;
}
