// A batch diff drawn with diff2html's own UI (Diff2HtmlUI with highlight.js), without letting
// syntax highlighting hold up the first paint: every file is drawn plain at once, then
// highlight.js colours the lines in order in idle time (about 12 ms of work per slice), so a
// 5 000-line diff paints without waiting for its colours and stays responsive while they arrive.
// Files far below the view wait, hidden, until scrolled near (see `drawDiff`).
import hljs from 'highlight.js/lib/core';
import bash from 'highlight.js/lib/languages/bash';
import css from 'highlight.js/lib/languages/css';
import go from 'highlight.js/lib/languages/go';
import ini from 'highlight.js/lib/languages/ini';
import javascript from 'highlight.js/lib/languages/javascript';
import json from 'highlight.js/lib/languages/json';
import markdown from 'highlight.js/lib/languages/markdown';
import plaintext from 'highlight.js/lib/languages/plaintext';
import python from 'highlight.js/lib/languages/python';
import rust from 'highlight.js/lib/languages/rust';
import shell from 'highlight.js/lib/languages/shell';
import typescript from 'highlight.js/lib/languages/typescript';
import xml from 'highlight.js/lib/languages/xml';
import yaml from 'highlight.js/lib/languages/yaml';
import { parse } from 'diff2html/lib/diff2html';
import { Diff2HtmlUI, type Diff2HtmlUIConfig } from 'diff2html/lib/ui/js/diff2html-ui-base';
import { closeTags, getLanguage, mergeStreams, nodeStream } from 'diff2html/lib/ui/js/highlight.js-helpers';
import { ColorSchemeType, LineType, type DiffFile } from 'diff2html/lib/types';

// A handful of common languages keeps the bundle small; a file in any other language is shown
// plain. diff2html picks the language from the file's extension (`.toml` is ini, `.html` xml).
for (const [name, language] of Object.entries({
  bash,
  css,
  go,
  ini,
  javascript,
  json,
  markdown,
  plaintext,
  python,
  rust,
  shell,
  typescript,
  xml,
  yaml,
})) {
  hljs.registerLanguage(name, language);
}

/** Extensions diff2html does not map itself. */
const EXTRA_LANGUAGES = new Map([
  ['svelte', 'xml'],
  ['vue', 'xml'],
  ['cjs', 'javascript'],
  ['mts', 'typescript'],
  ['cts', 'typescript'],
]);

export type DiffLayout = 'line-by-line' | 'side-by-side';

/** Runs `work` when the page is idle; answers a function that cancels it. */
export type Schedule = (work: (budgetMs: () => number) => void) => () => void;

/** Idle callbacks where the engine has them; else a task after the next frame (WebKit). */
export const whenIdle: Schedule = (work) => {
  const w = globalThis as typeof globalThis & {
    requestIdleCallback?: (cb: (d: { timeRemaining(): number }) => void, o?: { timeout: number }) => number;
    cancelIdleCallback?: (id: number) => void;
  };
  if (w.requestIdleCallback && w.cancelIdleCallback) {
    const id = w.requestIdleCallback((d) => work(() => d.timeRemaining()), { timeout: 250 });
    return () => w.cancelIdleCallback!(id);
  }
  // After the frame being drawn has been painted, a task of its own: input and paints go between.
  let timer: ReturnType<typeof setTimeout> | undefined;
  let cancelled = false;
  const start = () => {
    if (cancelled) return;
    timer = setTimeout(() => {
      const t0 = performance.now();
      work(() => SLICE_MS - (performance.now() - t0));
    }, 0);
  };
  const frame = typeof requestAnimationFrame === 'function' ? requestAnimationFrame(start) : (start(), 0);
  return () => {
    cancelled = true;
    if (typeof cancelAnimationFrame === 'function') cancelAnimationFrame(frame);
    clearTimeout(timer);
  };
};

/** Work per slice when the engine gives no idle deadline. */
const SLICE_MS = 12;

export interface DrawnDiff {
  /** The files drawn, in order. */
  files: number;
  /** Stops the work still to come (highlighting, showing files scrolled near): the diff is drawn
   *  again, or the view closes. */
  dispose(): void;
  /** How many files are highlighted when highlighting ends (all of them unless disposed). */
  highlighted: Promise<number>;
}

/** Estimated height of a file's header and of one of its rows, in px (diff2html's 13px lines). */
const HEADER_PX = 50;
const ROW_PX = 18;

/** The rows a file's table will have in `layout`: a header per hunk, then its lines (side by
 *  side, a hunk's deletions and insertions share rows). */
function rows(file: DiffFile, layout: DiffLayout): number {
  let n = 0;
  for (const block of file.blocks) {
    let del = 0;
    let ins = 0;
    for (const line of block.lines) {
      if (line.type === LineType.DELETE) del++;
      else if (line.type === LineType.INSERT) ins++;
    }
    const context = block.lines.length - del - ins;
    n += 1 + context + (layout === 'side-by-side' ? Math.max(del, ins) : del + ins);
  }
  return n;
}

/**
 * Draws `patch` into `target` (its content replaced), one `.diff-file` box per file, plain, and
 * highlights the lines in order afterwards, as many per idle slice as its time allows.
 *
 * Every file is in the DOM at once, but the tables of those starting more than two screens down
 * are "parked" (hidden, `data-parked`, the box kept at its estimated height; the file's header
 * shows) until they come within a screen of `scroller`'s view: WebKit would otherwise style and
 * lay out every row of a 5 000-line diff before its first paint (seconds on a slow machine),
 * which `content-visibility: auto` does not avoid in WebKit (measured: 4 times faster than
 * nothing, 12 times slower than hidden tables).
 *
 * `target.dataset.highlighted` counts the files highlighted; performance marks
 * `review-diff-drawn` and `review-diff-highlighted` time the two steps.
 */
export function drawDiff(
  target: HTMLElement,
  patch: string,
  opts: { layout: DiffLayout; dark: boolean; scroller?: HTMLElement | null },
  schedule: Schedule = whenIdle,
): DrawnDiff {
  const config: Diff2HtmlUIConfig = {
    outputFormat: opts.layout,
    drawFileList: false,
    matching: 'none',
    colorScheme: opts.dark ? ColorSchemeType.DARK : ColorSchemeType.LIGHT,
    // Highlighting comes later, a slice of lines at a time.
    highlight: false,
    highlightLanguages: EXTRA_LANGUAGES,
    synchronisedScroll: true,
    fileListToggle: false,
    fileContentToggle: true,
    // The view's own bar is sticky at the top of the same scroller.
    stickyFileHeaders: false,
  };
  const files = parse(patch, config);
  const scroller = opts.scroller ?? null;
  // Files within two screens of the top are shown at once; the rest wait until scrolled near.
  const view = (scroller ? scroller.clientHeight : 0) || globalThis.innerHeight || 0;
  const parked = new Map<Element, () => void>();
  const Observer = globalThis.IntersectionObserver;
  const near = Observer
    ? new Observer(
        (entries) => {
          for (const entry of entries) {
            if (!entry.isIntersecting) continue;
            parked.get(entry.target)?.();
          }
        },
        { root: scroller, rootMargin: '100% 0px' },
      )
    : null;
  const page = document.createDocumentFragment();
  let above = 0;
  const uis = files.map((file) => {
    const box = document.createElement('div');
    box.className = 'diff-file';
    const ui = new Diff2HtmlUI(box, [file], config, hljs);
    ui.draw();
    page.append(box);
    const height = HEADER_PX + ROW_PX * rows(file, opts.layout);
    const table = box.querySelector<HTMLElement>('.d2h-file-diff, .d2h-files-diff');
    if (near && table && above > 2 * view) {
      table.style.display = 'none';
      box.style.height = `${height}px`;
      box.dataset.parked = '';
      parked.set(box, () => {
        parked.delete(box);
        near.unobserve(box);
        table.style.display = '';
        box.style.height = '';
        delete box.dataset.parked;
      });
      near.observe(box);
    }
    above += height;
    return ui;
  });
  target.replaceChildren(page);
  target.dataset.files = String(uis.length);
  target.dataset.highlighted = '0';
  mark('review-diff-drawn');

  // Highlighting: the files' lines in order, a slice of them per idle callback.
  const queue = uis.map((ui) => {
    const wrapper = ui.targetElement.querySelector('.d2h-file-wrapper');
    return {
      lines: wrapper ? [...wrapper.querySelectorAll<HTMLElement>('.d2h-code-line-ctn')] : [],
      language: wrapper ? languageOf(wrapper) : 'plaintext',
    };
  });
  let file = 0;
  let line = 0;
  let cancelSlice: (() => void) | null = null;
  let finish: (n: number) => void = () => {};
  const highlighted = new Promise<number>((resolve) => (finish = resolve));
  const slice = (budget: () => number) => {
    cancelSlice = null;
    // Lines while the slice has time left (checked every few lines), at least a few.
    let n = 0;
    while (file < queue.length && (n % 8 !== 0 || n === 0 || budget() > 1)) {
      const { lines, language } = queue[file];
      if (line < lines.length) {
        highlightLine(lines[line++], language);
        n++;
      } else {
        file++;
        line = 0;
        target.dataset.highlighted = String(file);
      }
    }
    if (file < queue.length) {
      cancelSlice = schedule(slice);
    } else {
      mark('review-diff-highlighted');
      finish(file);
    }
  };
  if (queue.length > 0) cancelSlice = schedule(slice);
  else finish(0);
  return {
    files: uis.length,
    dispose() {
      cancelSlice?.();
      cancelSlice = null;
      near?.disconnect();
      finish(file);
    },
    highlighted,
  };
}

/** The highlight.js language of a drawn file (its wrapper's `data-lang`, an extension), as
 *  Diff2HtmlUI.highlightCode picks it: plaintext when it is not registered. */
function languageOf(wrapper: Element): string {
  const ext = wrapper.getAttribute('data-lang');
  const language = ext ? (EXTRA_LANGUAGES.get(ext) ?? getLanguage(ext)) : 'plaintext';
  return hljs.getLanguage(language) ? language : 'plaintext';
}

/** Highlights one drawn line as Diff2HtmlUI.highlightCode does, with diff2html's own helpers
 *  (the word-level `<ins>`/`<del>` marks are kept), so that a long file can be coloured over
 *  several slices instead of in one long task. */
function highlightLine(line: HTMLElement, language: string) {
  const text = line.textContent ?? '';
  const result = closeTags(hljs.highlight(text, { language, ignoreIllegals: true }));
  const original = nodeStream(line);
  if (original.length) {
    const highlighted = document.createElementNS('http://www.w3.org/1999/xhtml', 'div') as HTMLElement;
    highlighted.innerHTML = result.value;
    result.value = mergeStreams(original, nodeStream(highlighted), text);
  }
  line.classList.add('hljs');
  if (result.language) line.classList.add(result.language);
  line.innerHTML = result.value;
}

function mark(name: string) {
  try {
    performance.clearMarks(name);
    performance.mark(name);
  } catch {
    // No User Timing (an old engine, a test DOM): the marks are only for measuring.
  }
}
