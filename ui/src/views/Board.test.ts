import { render, screen, fireEvent, waitFor } from '@testing-library/svelte';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import Board from './Board.svelte';
import { setBackend } from '../lib/backend';
import { MockBackend, smallBoard, twoAgents, mockCard } from '../test/mockBackend';

// jsdom has no PointerEvent: a MouseEvent with a pointer id is enough for the board.
if (!('PointerEvent' in window)) {
  class PointerEventPolyfill extends MouseEvent {
    pointerId: number;
    constructor(type: string, init: PointerEventInit = {}) {
      super(type, init);
      this.pointerId = init.pointerId ?? 1;
    }
  }
  (window as unknown as { PointerEvent: unknown }).PointerEvent = PointerEventPolyfill;
}

let mock: MockBackend;

beforeEach(() => {
  mock = new MockBackend(twoAgents());
  mock.board = smallBoard();
  setBackend(mock);
});

async function board() {
  render(Board);
  await screen.findByTestId('batch-1');
  return screen.getByTestId('board');
}

function cardsIn(testid: string): string[] {
  return [...screen.getByTestId(testid).querySelectorAll('[data-card]')].map((e) => (e as HTMLElement).dataset.card!);
}

/** A pointer drag: down on `from`, a move far enough to count, up over `to`. */
async function drag(from: HTMLElement, to: HTMLElement) {
  await fireEvent.pointerDown(from, { button: 0, clientX: 10, clientY: 10 });
  await fireEvent.pointerMove(to, { clientX: 200, clientY: 60 });
  await fireEvent.pointerUp(to, { clientX: 200, clientY: 60 });
}

describe('board', () => {
  it('shows one column per batch plus the Backlog, cards with id, title, status, owner and dependencies', async () => {
    await board();
    const cases: [string, string[]][] = [
      ['batch-1', ['T-001']],
      ['batch-2', ['T-002', 'T-003']],
      ['batch-backlog', ['T-004']],
    ];
    for (const [col, ids] of cases) expect(cardsIn(col), col).toEqual(ids);
    const t1 = screen.getByTestId('ticket-T-001').textContent!;
    expect(t1).toContain('Project skeleton');
    expect(t1).toContain('doing');
    expect(t1).toContain('@codex');
    expect(screen.getByTestId('ticket-T-002').textContent).toContain('T-001');
    // Phase badges with their state in the batch header (the agent comes from a running project).
    const phases = screen.getByTestId('batch-1').querySelector('.phases')!;
    expect(phases.querySelector('.phase.passed')!.textContent).toContain('Design');
    expect(phases.querySelector('.phase.running')!.textContent).toContain('Build');
  });

  it('shows milestone lanes above the batch columns, named on the first batch of each', async () => {
    mock.board = smallBoard();
    mock.board.columns.splice(2, 0, {
      ...mock.board.columns[1],
      key: { kind: 'batch', number: 3 },
      title: 'Batch 3: More board',
      cards: [],
    });
    await board();
    const lane = (n: number) => screen.getByTestId(`lane-${n}`);
    expect(lane(1).dataset.milestone).toBe('1');
    expect(lane(1).textContent!.trim()).toBe('Milestone 1 · Foundations');
    expect(lane(2).textContent!.trim()).toBe('Milestone 2 · The board');
    // Batch 3 continues milestone 2's lane without naming it again.
    expect(lane(3).dataset.milestone).toBe('2');
    expect(lane(3).textContent!.trim()).toBe('');
    expect(screen.queryByTestId('lane-backlog')).toBeNull();
  });

  it('says what to do when no project is open', async () => {
    mock.board = null;
    render(Board);
    expect((await screen.findByTestId('empty-state')).textContent).toContain('New project');
  });

  it('a pointer drag to another batch moves the ticket there', async () => {
    await board();
    await drag(screen.getByTestId('ticket-T-002'), screen.getByTestId('batch-1'));
    await waitFor(() => expect(cardsIn('batch-1')).toEqual(['T-001', 'T-002']));
    expect(mock.callsOf('board')[0].op).toEqual({
      op: 'move_ticket',
      ticket: 'T-002',
      to: { kind: 'batch', number: 1 },
      position: null,
    });
  });

  it('a pointer drag onto a card inserts before it; dropping a card where it is does nothing', async () => {
    await board();
    await drag(screen.getByTestId('ticket-T-003'), screen.getByTestId('ticket-T-002'));
    await waitFor(() => expect(cardsIn('batch-2')).toEqual(['T-003', 'T-002']));
    await drag(screen.getByTestId('ticket-T-003'), screen.getByTestId('ticket-T-003'));
    expect(mock.callsOf('board')).toHaveLength(1);
  });

  it('while a card is dragged, the drop column is framed and the insertion line shown; both go when it ends', async () => {
    const root = await board();
    const marks = () => {
      const shown = (sel: string) => (root.querySelector<HTMLElement>(sel)?.style.display ?? 'gone') === 'block';
      return { frame: shown('.drop-frame'), line: shown('.insert'), ghost: root.querySelector('.drag-ghost') !== null };
    };
    await fireEvent.pointerDown(screen.getByTestId('ticket-T-002'), { button: 0, clientX: 10, clientY: 10 });
    const cases: [HTMLElement, { frame: boolean; line: boolean; ghost: boolean }][] = [
      [screen.getByTestId('ticket-T-001'), { frame: true, line: true, ghost: true }],
      [root, { frame: false, line: false, ghost: true }],
      [screen.getByTestId('batch-backlog'), { frame: true, line: true, ghost: true }],
    ];
    for (const [over, want] of cases) {
      await fireEvent.pointerMove(over, { clientX: 200, clientY: 60 });
      expect(marks(), over.dataset.testid).toEqual(want);
    }
    await fireEvent.pointerCancel(window);
    expect(marks()).toEqual({ frame: false, line: false, ghost: false });
  });

  it('a batch dragged by its grip is reordered', async () => {
    await board();
    await drag(screen.getByTestId('grip-2'), screen.getByTestId('batch-1'));
    await waitFor(() => expect(mock.callsOf('board')[0].op).toEqual({ op: 'move_batch', batch: 2, position: 0 }));
    const order = [...document.querySelectorAll('[data-column]')].map((e) => (e as HTMLElement).dataset.testid);
    expect(order).toEqual(['batch-2', 'batch-1', 'batch-backlog']);
  });

  it('keyboard: select a card, Alt+digit moves it to that batch, Alt+0 to the Backlog, Ctrl+Z undoes', async () => {
    const root = await board();
    await fireEvent.pointerDown(screen.getByTestId('ticket-T-003'), { button: 0 });
    await fireEvent.pointerUp(screen.getByTestId('ticket-T-003'));
    await fireEvent.keyDown(root, { key: '0', code: 'Digit0', altKey: true });
    await waitFor(() => expect(cardsIn('batch-backlog')).toEqual(['T-004', 'T-003']));
    await fireEvent.keyDown(root, { key: '1', code: 'Digit1', altKey: true });
    await waitFor(() => expect(cardsIn('batch-1')).toEqual(['T-001', 'T-003']));
    await fireEvent.keyDown(root, { key: 'z', code: 'KeyZ', ctrlKey: true });
    await waitFor(() => expect(cardsIn('batch-backlog')).toEqual(['T-004', 'T-003']));
    await fireEvent.keyDown(root, { key: 'z', code: 'KeyZ', ctrlKey: true });
    await waitFor(() => expect(cardsIn('batch-2')).toEqual(['T-002', 'T-003']));
    expect(mock.callsOf('undo')).toHaveLength(2);
  });

  it('keyboard: arrows move the selection, Alt+Up reorders within the batch', async () => {
    const root = await board();
    await fireEvent.pointerDown(screen.getByTestId('ticket-T-002'), { button: 0 });
    await fireEvent.pointerUp(screen.getByTestId('ticket-T-002'));
    await fireEvent.keyDown(root, { key: 'ArrowDown' });
    expect(screen.getByTestId('ticket-T-003').getAttribute('aria-selected')).toBe('true');
    await fireEvent.keyDown(root, { key: 'ArrowUp', altKey: true });
    await waitFor(() => expect(cardsIn('batch-2')).toEqual(['T-003', 'T-002']));
  });

  it('moving out of a batch being built asks first, and only a confirmation moves it', async () => {
    await board();
    await drag(screen.getByTestId('ticket-T-001'), screen.getByTestId('batch-2'));
    const dialog = await screen.findByTestId('confirm');
    expect(dialog.textContent).toContain('being built');
    expect(cardsIn('batch-1')).toEqual(['T-001']);
    await fireEvent.click(screen.getByTestId('confirm-yes'));
    await waitFor(() => expect(cardsIn('batch-2')).toEqual(['T-002', 'T-003', 'T-001']));
    expect(mock.callsOf('board').map((c) => c.confirmed)).toEqual([false, true]);
  });

  it('adds, edits and deletes tickets and batches in place', async () => {
    const root = await board();
    await fireEvent.click(screen.getByTestId('add-ticket-batch-2'));
    const input = screen.getByTestId('new-ticket-title') as HTMLInputElement;
    await fireEvent.input(input, { target: { value: 'Undo stack' } });
    await fireEvent.keyDown(input, { key: 'Enter' });
    await waitFor(() => expect(cardsIn('batch-2')).toHaveLength(3));
    expect(mock.callsOf('board')[0].op).toEqual({ op: 'add_ticket', batch: 2, title: 'Undo stack' });

    await fireEvent.dblClick(screen.getByTestId('ticket-T-002'));
    const title = screen.getByTestId('edit-title') as HTMLInputElement;
    await fireEvent.input(title, { target: { value: 'Board columns per batch' } });
    await fireEvent.click(screen.getByTestId('edit-save'));
    await waitFor(() => expect(screen.getByTestId('ticket-T-002').textContent).toContain('Board columns per batch'));
    expect(mock.callsOf('board')[1].op).toMatchObject({ op: 'edit_ticket', ticket: 'T-002', title: 'Board columns per batch' });

    await fireEvent.pointerDown(screen.getByTestId('ticket-T-004'), { button: 0 });
    await fireEvent.pointerUp(screen.getByTestId('ticket-T-004'));
    await fireEvent.keyDown(root, { key: 'Delete' });
    await waitFor(() => expect(cardsIn('batch-backlog')).toEqual([]));

    await fireEvent.click(screen.getByTestId('add-batch'));
    const b = screen.getByTestId('new-batch-title') as HTMLInputElement;
    await fireEvent.input(b, { target: { value: 'Batch 3: Timeline' } });
    await fireEvent.keyDown(b, { key: 'Enter' });
    await screen.findByTestId('batch-3');
    await fireEvent.click(screen.getByTestId('delete-batch-3'));
    await waitFor(() => expect(screen.queryByTestId('batch-3')).toBeNull());
  });

  it('follows TICKETS.md when it changes on disk', async () => {
    await board();
    const next = smallBoard();
    next.columns[0].cards.push(mockCard('T-009', 'Written by an agent'));
    mock.boardChanged(next);
    await waitFor(() => expect(cardsIn('batch-1')).toEqual(['T-001', 'T-009']));
  });

  it('shows an engine refusal as a one-line error', async () => {
    const root = await board();
    await fireEvent.pointerDown(screen.getByTestId('ticket-T-002'), { button: 0 });
    await fireEvent.pointerUp(screen.getByTestId('ticket-T-002'));
    await fireEvent.keyDown(root, { key: '7', code: 'Digit7', altKey: true });
    expect((await screen.findByRole('alert')).textContent).toContain('There is no batch 7');
    await fireEvent.keyDown(root, { key: 'z', code: 'KeyZ', ctrlKey: true });
    expect((await screen.findByRole('alert')).textContent).toContain('nothing to undo');
  });

  it('column headers name the agent of each phase while a project runs', async () => {
    mock.board!.columns[1].phases = [{ kind: 'design', state: 'running' }];
    mock.liveValue = {
      runs: [{ id: 7, phase: 'design(2)', agent: 'designer', outcome: 'running', completedBy: null, startedMs: 0, endedMs: null }],
    } as unknown as NonNullable<MockBackend['liveValue']>;
    await board();
    await waitFor(() => expect(screen.getByTestId('batch-2').querySelector('.phases')!.textContent).toMatch(/Design\s*designer/));
  });
});

/** An IntersectionObserver the test drives: `show(...)` says which columns are near the view. */
class FakeObserver {
  static all: FakeObserver[] = [];
  els = new Set<Element>();
  constructor(private cb: (entries: { target: Element; isIntersecting: boolean }[]) => void) {
    FakeObserver.all.push(this);
  }
  observe(el: Element) {
    this.els.add(el);
  }
  unobserve(el: Element) {
    this.els.delete(el);
  }
  disconnect() {
    this.els.clear();
  }
  static show(...testids: string[]) {
    for (const o of FakeObserver.all)
      o.cb([...o.els].map((el) => ({ target: el, isIntersecting: testids.includes((el as HTMLElement).dataset.testid!) })));
  }
}

describe('board with columns far out of view', () => {
  beforeEach(() => {
    FakeObserver.all = [];
    vi.stubGlobal('IntersectionObserver', FakeObserver);
  });
  afterEach(() => vi.unstubAllGlobals());

  it('renders the cards of the columns near the view only, and follows the view', async () => {
    render(Board);
    await screen.findByTestId('batch-backlog');
    const cases: [string[], string[]][] = [
      [[], []],
      [['batch-1'], ['T-001']],
      [['batch-2', 'batch-backlog'], ['T-002', 'T-003', 'T-004']],
      [['batch-1', 'batch-2', 'batch-backlog'], ['T-001', 'T-002', 'T-003', 'T-004']],
    ];
    for (const [near, cards] of cases) {
      FakeObserver.show(...near);
      await waitFor(() => expect(cardsIn('board'), near.join(',')).toEqual(cards));
    }
    // Every column is there, with its count, whether its cards are rendered or not.
    FakeObserver.show();
    await waitFor(() => expect(cardsIn('board')).toEqual([]));
    expect(screen.getByTestId('batch-2').querySelector('.count')!.textContent).toBe('2');
  });

  it('keyboard selection into a far column renders it; a drop on a far column still moves the ticket', async () => {
    const root = (render(Board), await screen.findByTestId('board'));
    FakeObserver.show('batch-1');
    await fireEvent.pointerDown(await screen.findByTestId('ticket-T-001'), { button: 0 });
    await fireEvent.pointerUp(screen.getByTestId('ticket-T-001'));
    await fireEvent.keyDown(root, { key: 'ArrowRight' });
    await waitFor(() => expect(screen.getByTestId('ticket-T-002').getAttribute('aria-selected')).toBe('true'));
    FakeObserver.show('batch-2');
    await drag(screen.getByTestId('ticket-T-002'), screen.getByTestId('batch-backlog'));
    await waitFor(() =>
      expect(mock.callsOf('board')[0].op).toEqual({ op: 'move_ticket', ticket: 'T-002', to: { kind: 'backlog' }, position: null }),
    );
  });
});
