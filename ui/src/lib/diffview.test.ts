import { afterEach, describe, expect, it, vi } from 'vitest';
import { drawDiff, type Schedule } from './diffview';

function file(path: string, lines: string[]): string {
  return [
    `diff --git a/${path} b/${path}`,
    'new file mode 100644',
    'index 0000000..1111111',
    '--- /dev/null',
    `+++ b/${path}`,
    `@@ -0,0 +1,${lines.length} @@`,
    ...lines.map((l) => `+${l}`),
    '',
  ].join('\n');
}

const PATCH =
  file('src/main.rs', ['fn main() {', '    let answer: u32 = 42;', '    println!("{answer}");', '}']) +
  file('web/app.ts', ['export const greeting: string = "hi";']) +
  file('notes/data.xyz', ['no language for this one']);

/** A scheduler the test runs by hand: each pending slice, with the budget it is given. */
function manual(budgetMs: number) {
  const queue: Array<(budget: () => number) => void> = [];
  let cancelled = 0;
  const schedule: Schedule = (work) => {
    queue.push(work);
    return () => {
      const i = queue.indexOf(work);
      if (i >= 0) {
        queue.splice(i, 1);
        cancelled++;
      }
    };
  };
  return {
    schedule,
    pending: () => queue.length,
    cancelled: () => cancelled,
    runOne() {
      const work = queue.shift();
      if (!work) throw new Error('no slice pending');
      work(() => budgetMs);
    },
  };
}

describe('drawDiff', () => {
  afterEach(() => vi.unstubAllGlobals());

  it('draws every file plain at once, then highlights them in idle slices', async () => {
    const target = document.createElement('div');
    const idle = manual(50);
    const drawn = drawDiff(target, PATCH, { layout: 'line-by-line', dark: true }, idle.schedule);
    expect(drawn.files).toBe(3);
    const names = [...target.querySelectorAll('.d2h-file-name')].map((e) => e.textContent?.trim());
    expect(names).toEqual(['src/main.rs', 'web/app.ts', 'notes/data.xyz']);
    expect(target.textContent).toContain('let answer: u32 = 42;');
    expect(target.querySelector('.hljs')).toBeNull();
    expect(target.dataset.highlighted).toBe('0');
    // Nothing was highlighted before the first slice; a slice with time left does all three.
    idle.runOne();
    expect(idle.pending()).toBe(0);
    expect(await drawn.highlighted).toBe(3);
    expect(target.dataset.highlighted).toBe('3');
    const rust = target.querySelectorAll('.diff-file')[0];
    expect([...rust.querySelectorAll('.hljs-keyword')].map((e) => e.textContent)).toContain('fn');
    expect(rust.querySelector('.d2h-code-line-ctn.hljs.rust')).not.toBeNull();
    expect(target.querySelectorAll('.diff-file')[1].querySelector('.hljs-keyword')?.textContent).toBe('export');
    // A language not registered is shown plain, its text unchanged.
    const other = target.querySelectorAll('.diff-file')[2];
    expect(other.querySelector('[class*="hljs-"]')).toBeNull();
    expect(other.textContent).toContain('no language for this one');
    // Highlighting keeps each line's text, so a row still reads as the diff does.
    const row = [...rust.querySelectorAll('tr')].find((tr) => tr.textContent?.includes('println!'));
    expect(row?.querySelector('.d2h-code-line-ctn')?.textContent).toBe('    println!("{answer}");');
  });

  it('highlights a few lines per slice when a slice has no time left, and stops when disposed', async () => {
    const long = file('tools/long.py', Array.from({ length: 20 }, (_, i) => `def f${i}(): return ${i}`));
    const patch = long + file('tools/short.py', ['import os']);
    const target = document.createElement('div');
    const idle = manual(0);
    const drawn = drawDiff(target, patch, { layout: 'line-by-line', dark: true }, idle.schedule);
    const lit = () => target.querySelectorAll('.d2h-code-line-ctn.hljs').length;
    idle.runOne();
    expect(lit()).toBe(8);
    expect(target.dataset.highlighted).toBe('0');
    idle.runOne();
    expect(lit()).toBe(16);
    expect(idle.pending()).toBe(1);
    drawn.dispose();
    expect(idle.pending()).toBe(0);
    expect(idle.cancelled()).toBe(1);
    expect(await drawn.highlighted).toBe(0);
    expect(lit()).toBe(16);
    // Drawn again, the slices run to the end: the long file, then the short one.
    const again = drawDiff(target, patch, { layout: 'line-by-line', dark: true }, idle.schedule);
    idle.runOne();
    idle.runOne();
    idle.runOne();
    expect(target.dataset.highlighted).toBe('2');
    expect(idle.pending()).toBe(0);
    expect(await again.highlighted).toBe(2);
    expect(lit()).toBe(21);
    expect(target.querySelectorAll('.diff-file')[1].querySelector('.hljs-keyword')?.textContent).toBe('import');
  });

  it("keeps diff2html's word marks of a changed line when it highlights it", () => {
    const patch = [
      'diff --git a/src/lib.rs b/src/lib.rs',
      'index 1111111..2222222 100644',
      '--- a/src/lib.rs',
      '+++ b/src/lib.rs',
      '@@ -1,1 +1,1 @@',
      '-let limit = 10;',
      '+let limit = 20;',
      '',
    ].join('\n');
    const target = document.createElement('div');
    const idle = manual(50);
    drawDiff(target, patch, { layout: 'line-by-line', dark: true }, idle.schedule);
    const added = () => target.querySelector<HTMLElement>('td.d2h-ins .d2h-code-line-ctn')!;
    expect(added().querySelector('ins')?.textContent).toBe('20');
    idle.runOne();
    expect(added().querySelector('ins')?.textContent).toBe('20');
    expect(added().querySelector('.hljs-keyword')?.textContent).toBe('let');
    expect(added().textContent).toBe('let limit = 20;');
  });

  it('follows the layout and the theme, and replaces what the target held', () => {
    const target = document.createElement('div');
    const idle = manual(50);
    drawDiff(target, PATCH, { layout: 'line-by-line', dark: true }, idle.schedule);
    expect(target.querySelectorAll('.d2h-wrapper.d2h-dark-color-scheme')).toHaveLength(3);
    drawDiff(target, PATCH, { layout: 'side-by-side', dark: false }, idle.schedule);
    expect(target.querySelectorAll('.diff-file')).toHaveLength(3);
    expect(target.querySelectorAll('.d2h-wrapper.d2h-light-color-scheme')).toHaveLength(3);
    expect(target.querySelectorAll('.d2h-files-diff')).toHaveLength(3);
  });

  it('parks the tables of files more than a screen below the view until they scroll near', () => {
    // jsdom has no IntersectionObserver: a stand-in the test fires by hand.
    const observers: FakeObserver[] = [];
    class FakeObserver {
      watched = new Set<Element>();
      constructor(
        public fire: (entries: Array<{ isIntersecting: boolean; target: Element }>) => void,
        public options: { root: Element | null; rootMargin: string },
      ) {
        observers.push(this);
      }
      observe(e: Element) {
        this.watched.add(e);
      }
      unobserve(e: Element) {
        this.watched.delete(e);
      }
      disconnect() {
        this.watched.clear();
      }
    }
    vi.stubGlobal('IntersectionObserver', FakeObserver);
    const scroller = document.createElement('div');
    Object.defineProperty(scroller, 'clientHeight', { value: 100 });
    const target = document.createElement('div');
    const drawn = drawDiff(target, PATCH, { layout: 'line-by-line', dark: true, scroller }, manual(50).schedule);
    const boxes = [...target.querySelectorAll<HTMLElement>('.diff-file')];
    // The first two files' estimates (140 and 86 px) start within two screens (200 px); the third
    // is in the DOM with its header, its table hidden, at its estimated height.
    expect(boxes.map((b) => 'parked' in b.dataset)).toEqual([false, false, true]);
    expect(boxes[2].style.height).toBe('86px');
    expect(boxes[2].querySelector<HTMLElement>('.d2h-file-diff')!.style.display).toBe('none');
    expect(boxes[2].querySelector('.d2h-file-name')?.textContent?.trim()).toBe('notes/data.xyz');
    expect(boxes[2].textContent).toContain('no language for this one');
    const [near] = observers;
    expect(near.options).toEqual({ root: scroller, rootMargin: '100% 0px' });
    expect([...near.watched]).toEqual([boxes[2]]);
    near.fire([{ isIntersecting: false, target: boxes[2] }]);
    expect('parked' in boxes[2].dataset).toBe(true);
    near.fire([{ isIntersecting: true, target: boxes[2] }]);
    expect('parked' in boxes[2].dataset).toBe(false);
    expect(boxes[2].style.height).toBe('');
    expect(boxes[2].querySelector<HTMLElement>('.d2h-file-diff')!.style.display).toBe('');
    expect(near.watched.size).toBe(0);
    drawn.dispose();
  });

  it('draws nothing and schedules nothing for an empty patch', async () => {
    const target = document.createElement('div');
    target.textContent = 'old';
    const idle = manual(50);
    const drawn = drawDiff(target, '', { layout: 'line-by-line', dark: true }, idle.schedule);
    expect(drawn.files).toBe(0);
    expect(target.textContent).toBe('');
    expect(idle.pending()).toBe(0);
    expect(await drawn.highlighted).toBe(0);
  });
});
