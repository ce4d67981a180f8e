// An in-memory Backend for component tests: records every call and lets a test push pane output,
// pane exits and log lines as the shell would.
import type { Backend } from '../lib/backend';
import type { Cockpit } from '../lib/bindings/Cockpit';
import type { LogLine } from '../lib/bindings/LogLine';
import type { PaneExit } from '../lib/bindings/PaneExit';
import type { PaneSize } from '../lib/bindings/PaneSize';
import type { UiMark } from '../lib/bindings/UiMark';
import type { LiveCommand } from '../lib/bindings/LiveCommand';
import type { LiveEvent } from '../lib/bindings/LiveEvent';
import type { LiveState } from '../lib/bindings/LiveState';
import type { ProjectHold } from '../lib/bindings/ProjectHold';
import type { HoldAnswer } from '../lib/bindings/HoldAnswer';
import type { AboutInfo } from '../lib/bindings/AboutInfo';
import type { Welcome } from '../lib/bindings/Welcome';
import type { BatchDiff } from '../lib/bindings/BatchDiff';
import type { WelcomeCli } from '../lib/bindings/WelcomeCli';
import type { CliKind } from '../lib/bindings/CliKind';
import type { PackEntry } from '../lib/bindings/PackEntry';
import type { RulesFile } from '../lib/bindings/RulesFile';
import type {
  AppNotice,
  BoardOp,
  BoardView,
  Card,
  OpOutcome,
  ProjectSummary,
  SetupChoices,
  SetupPlan,
  TimelineData,
} from '../views/types';
import { sameColumn } from '../views/types';

export type Call =
  | { cmd: 'attach'; paneId: string; size: PaneSize }
  | { cmd: 'write'; paneId: string; data: string; binary: boolean }
  | { cmd: 'resize'; paneId: string; size: PaneSize }
  | { cmd: 'ack'; paneId: string; bytes: number }
  | { cmd: 'clipboardWrite'; text: string }
  | { cmd: 'openLink'; url: string }
  | { cmd: 'newWindow'; dir: string | null }
  | { cmd: 'mark'; mark: UiMark }
  | { cmd: 'board'; op: BoardOp; confirmed: boolean }
  | { cmd: 'undo' }
  | { cmd: 'projectOpen'; dir: string }
  | { cmd: 'inspect'; dir: string }
  | { cmd: 'finish'; plan: SetupPlan; choices: SetupChoices }
  | { cmd: 'cliInstall'; cli: CliKind }
  | { cmd: 'demoOpen' }
  | { cmd: 'contextRules' }
  | { cmd: 'contextRulesSave'; text: string; stamp: string };

export class MockBackend implements Backend {
  calls: Call[] = [];
  outputs = new Map<string, (bytes: Uint8Array) => void>();
  exitHandlers: Array<(e: PaneExit) => void> = [];
  logHandlers: Array<(l: LogLine) => void> = [];
  clipboard = '';

  constructor(public cockpitValue: Cockpit) {}

  async cockpit() {
    return this.cockpitValue;
  }
  async paneAttach(paneId: string, size: PaneSize, onOutput: (bytes: Uint8Array) => void) {
    if (!this.cockpitValue.panes.some((p) => p.id === paneId)) throw new Error(`no pane \`${paneId}\``);
    this.calls.push({ cmd: 'attach', paneId, size });
    this.outputs.set(paneId, onOutput);
  }
  async paneWrite(paneId: string, data: string, binary = false) {
    this.calls.push({ cmd: 'write', paneId, data, binary });
  }
  async paneResize(paneId: string, size: PaneSize) {
    this.calls.push({ cmd: 'resize', paneId, size });
  }
  async paneAck(paneId: string, bytes: number) {
    this.calls.push({ cmd: 'ack', paneId, bytes });
  }
  async onPaneExit(handler: (e: PaneExit) => void) {
    this.exitHandlers.push(handler);
    return () => {
      this.exitHandlers = this.exitHandlers.filter((h) => h !== handler);
    };
  }
  async logsSubscribe(onLine: (l: LogLine) => void) {
    this.logHandlers.push(onLine);
  }
  async openLink(url: string) {
    this.calls.push({ cmd: 'openLink', url });
  }
  async newWindow(dir: string | null) {
    this.calls.push({ cmd: 'newWindow', dir });
  }
  async clipboardRead() {
    return this.clipboard;
  }
  async clipboardWrite(text: string) {
    this.clipboard = text;
    this.calls.push({ cmd: 'clipboardWrite', text });
  }
  async uiMark(mark: UiMark) {
    this.calls.push({ cmd: 'mark', mark });
  }

  // ---- Board, projects, timeline: a small in-memory board that applies moves, edits and undo ----
  board: BoardView | null = null;
  undoStack: BoardView[] = [];
  boardHandlers: Array<(v: BoardView) => void> = [];
  noticeHandlers: Array<(n: AppNotice) => void> = [];
  projects: ProjectSummary[] = [];
  current: ProjectSummary | null = null;
  plan: SetupPlan | null = null;
  folder: string | null = null;
  timelineValue: TimelineData | null = null;

  async boardView() {
    return this.board;
  }
  async boardApply(op: BoardOp, confirmed = false): Promise<OpOutcome> {
    this.calls.push({ cmd: 'board', op, confirmed });
    if (!this.board) throw new Error('no project is open');
    const next: BoardView = structuredClone(this.board);
    const find = (id: string) => {
      for (const col of next.columns) {
        const i = col.cards.findIndex((c) => c.id === id);
        if (i >= 0) return { col, i };
      }
      throw new Error(`no ticket ${id}`);
    };
    switch (op.op) {
      case 'move_ticket': {
        const { col, i } = find(op.ticket);
        const busy = col.phases.some((p) => (p.kind === 'build' || p.kind === 'review') && p.state === 'running');
        if (busy && !confirmed && !sameColumn(col.key, op.to))
          return { result: 'needs_confirmation', reason: `${col.title} is being built` };
        const [card] = col.cards.splice(i, 1);
        const to = next.columns.find((c) => sameColumn(c.key, op.to));
        if (!to) throw new Error('no such column');
        to.cards.splice(op.position ?? to.cards.length, 0, card);
        break;
      }
      case 'move_batch': {
        const i = next.columns.findIndex((c) => c.key.kind === 'batch' && c.key.number === op.batch);
        const [col] = next.columns.splice(i, 1);
        next.columns.splice(op.position, 0, col);
        break;
      }
      case 'add_ticket': {
        const to = next.columns.find((c) => (op.batch === null ? c.key.kind === 'backlog' : c.key.kind === 'batch' && c.key.number === op.batch));
        const id = `T-${String(next.tickets + 1).padStart(3, '0')}`;
        to!.cards.push(mockCard(id, op.title));
        next.tickets += 1;
        break;
      }
      case 'edit_ticket': {
        const { col, i } = find(op.ticket);
        const card = col.cards[i];
        if (op.title) card.title = op.title;
        if (op.status) card.status = op.status;
        for (const f of op.fields ?? []) if (f.field === 'Owner') card.owner = f.value || null;
        break;
      }
      case 'delete_ticket': {
        const { col, i } = find(op.ticket);
        col.cards.splice(i, 1);
        next.tickets -= 1;
        break;
      }
      case 'add_batch': {
        const n = Math.max(0, ...next.columns.map((c) => (c.key.kind === 'batch' ? c.key.number : 0))) + 1;
        const at = next.columns.findIndex((c) => c.key.kind === 'backlog');
        next.columns.splice(at < 0 ? next.columns.length : at, 0, { key: { kind: 'batch', number: n }, title: op.title, name: op.title, line: null, phases: [], cards: [], milestone: null });
        break;
      }
      case 'rename_batch': {
        const col = next.columns.find((c) => c.key.kind === 'batch' && c.key.number === op.batch);
        col!.title = op.title;
        col!.name = op.title;
        break;
      }
      case 'delete_batch': {
        const i = next.columns.findIndex((c) => c.key.kind === 'batch' && c.key.number === op.batch);
        if (next.columns[i].cards.length > 0 && !op.with_tickets) throw new Error('the batch still holds tickets');
        next.columns.splice(i, 1);
        break;
      }
    }
    this.undoStack.push(this.board);
    this.board = next;
    return { result: 'applied', view: next, created: null, undo_depth: this.undoStack.length };
  }
  async boardUndo(): Promise<OpOutcome> {
    this.calls.push({ cmd: 'undo' });
    const prev = this.undoStack.pop();
    if (!prev) throw new Error('nothing to undo');
    this.board = prev;
    return { result: 'applied', view: prev, created: null, undo_depth: this.undoStack.length };
  }
  async onBoardChanged(handler: (v: BoardView) => void) {
    this.boardHandlers.push(handler);
    return () => {
      this.boardHandlers = this.boardHandlers.filter((h) => h !== handler);
    };
  }
  async projectsList() {
    return this.projects;
  }
  async projectCurrent() {
    return this.current;
  }
  async projectOpen(dir: string) {
    this.calls.push({ cmd: 'projectOpen', dir });
    const p = this.projects.find((q) => q.dir === dir) ?? { id: dir, name: dir.split('/').pop() ?? dir, dir };
    this.current = p;
    return p;
  }
  async pickFolder() {
    return this.folder;
  }
  async projectInspect(dir: string) {
    this.calls.push({ cmd: 'inspect', dir });
    if (!this.plan) throw new Error(`${dir} is not a folder`);
    return { ...structuredClone(this.plan), dir };
  }
  async projectFinish(plan: SetupPlan, choices: SetupChoices) {
    this.calls.push({ cmd: 'finish', plan, choices });
    const p = { id: plan.name, name: plan.name, dir: plan.dir };
    this.projects.push(p);
    this.current = p;
    return p;
  }
  async timeline() {
    return this.timelineValue;
  }
  async onNotice(handler: (n: AppNotice) => void) {
    this.noticeHandlers.push(handler);
    return () => {
      this.noticeHandlers = this.noticeHandlers.filter((h) => h !== handler);
    };
  }

  // The running project (live.rs): none unless a test sets `liveValue`.
  liveValue: LiveState | null = null;
  liveCommands: LiveCommand[] = [];
  liveHandlers: Array<(e: LiveEvent) => void> = [];
  liveStateReads = 0;
  async liveState() {
    this.liveStateReads += 1;
    return this.liveValue;
  }
  async liveCommand(command: LiveCommand) {
    this.liveCommands.push(command);
    return 'ok';
  }
  liveStops = 0;
  async liveStop() {
    this.liveStops += 1;
    return 'stopped';
  }
  async onLiveEvent(handler: (e: LiveEvent) => void) {
    this.liveHandlers.push(handler);
    return () => {
      this.liveHandlers = this.liveHandlers.filter((h) => h !== handler);
    };
  }
  liveChangedHandlers: Array<() => void> = [];
  async onLiveChanged(handler: () => void) {
    this.liveChangedHandlers.push(handler);
    return () => {
      this.liveChangedHandlers = this.liveChangedHandlers.filter((h) => h !== handler);
    };
  }
  // A held project (live.rs): none unless a test sets `holdValue`; answers are recorded.
  holdValue: ProjectHold | null = null;
  holdAnswers: HoldAnswer[] = [];
  /** What the next answer does: by default the project runs (no hold) and the answer is `running`. */
  answerHold: (answer: HoldAnswer) => string = () => {
    this.holdValue = null;
    return 'running';
  };
  aboutValue: AboutInfo = { version: '0.1.0', engineVersion: '0.1.0', agentClis: [] };
  async about() {
    return this.aboutValue;
  }
  welcomeValue: Welcome = { clis: [], userBin: '/home/u/.local/bin' };
  async welcome() {
    return this.welcomeValue;
  }
  /** What an install prints, line by line, and what it answers (or throws). */
  installLines: string[] = [];
  installResult: (cli: CliKind) => WelcomeCli = (cli) => {
    throw new Error(`no install scripted for ${cli}`);
  };
  async cliInstall(cli: CliKind, onLine: (line: string) => void) {
    this.calls.push({ cmd: 'cliInstall', cli });
    for (const l of this.installLines) onLine(l);
    return this.installResult(cli);
  }
  demoProject: ProjectSummary = { id: 'demo', name: 'demo-1', dir: '/data/demos/demo-1' };
  async demoOpen() {
    this.calls.push({ cmd: 'demoOpen' });
    this.current = this.demoProject;
    return this.demoProject;
  }
  reviewBatchesValue: number[] = [];
  diffs = new Map<number, BatchDiff>();
  async reviewBatches() {
    return this.reviewBatchesValue;
  }
  async batchDiff(batch: number) {
    const d = this.diffs.get(batch);
    if (!d) throw new Error(`batch ${batch} has no recorded build`);
    return d;
  }
  rules: RulesFile = { text: '# Context rules\n\n## Builder\n\nRead src/ only.\n', exists: true, stamp: 's1' };
  packs: PackEntry[] = [];
  packTexts = new Map<string, string>();
  async contextRules() {
    this.calls.push({ cmd: 'contextRules' });
    return this.rules;
  }
  async contextRulesSave(text: string, stamp: string) {
    this.calls.push({ cmd: 'contextRulesSave', text, stamp });
    if (stamp !== this.rules.stamp) throw new Error('docs/CONTEXT.md changed on disk since it was opened: nothing was saved');
    this.rules = { text, exists: true, stamp: `${stamp}+` };
    return this.rules;
  }
  async contextPacks() {
    return this.packs;
  }
  async contextPack(batch: number, phase: string) {
    const t = this.packTexts.get(`${batch}/${phase}`);
    if (t === undefined) throw new Error(`no pack for ${phase} of batch ${batch}`);
    return t;
  }
  diagnosticsValue = 'Leapfrog 0.1.0 (engine 0.1.0)';
  async diagnostics() {
    return this.diagnosticsValue;
  }
  async projectHold() {
    return this.holdValue;
  }
  async projectHoldAnswer(answer: HoldAnswer) {
    this.holdAnswers.push(answer);
    const line = this.answerHold(answer);
    for (const h of this.liveChangedHandlers) h();
    return line;
  }
  /** TICKETS.md changed on disk: the shell's `board-changed` event. */
  boardChanged(view: BoardView) {
    this.board = view;
    for (const h of this.boardHandlers) h(view);
  }
  notice(n: AppNotice) {
    for (const h of this.noticeHandlers) h(n);
  }

  // Driving the UI as the shell would:
  output(paneId: string, text: string) {
    const out = this.outputs.get(paneId);
    if (!out) throw new Error(`pane ${paneId} not attached`);
    out(new TextEncoder().encode(text));
  }
  exit(paneId: string, code: number | null) {
    for (const h of this.exitHandlers) h({ paneId, code });
  }
  log(seq: number, message: string, level: LogLine['level'] = 'info') {
    for (const h of this.logHandlers) h({ seq, timeMs: 0, level, target: 'leapfrog', message });
  }
  callsOf<K extends Call['cmd']>(cmd: K): Extract<Call, { cmd: K }>[] {
    return this.calls.filter((c) => c.cmd === cmd) as Extract<Call, { cmd: K }>[];
  }
}

export function twoAgents(): Cockpit {
  return {
    workdir: '/work/project',
    bench: false,
    gpu: false,
    panes: [
      { id: 'designer', title: 'Designer · claude', role: 'design', agentCommand: 'claude', program: 'bash' },
      { id: 'builder', title: 'Builder · codex', role: 'build', agentCommand: 'codex', program: 'bash' },
    ],
  };
}

export function mockCard(id: string, title: string, extra: Partial<Card> = {}): Card {
  return {
    id,
    title,
    status: 'todo',
    status_unknown: false,
    status_raw: null,
    owner: null,
    priority: null,
    depends_on: [],
    blocked_by_dependency: false,
    line_start: 0,
    line_end: 0,
    ...extra,
  };
}

/** Two batches and a Backlog: T-001 in batch 1 (being built), T-002 and T-003 in batch 2, T-004 in the Backlog. */
export function smallBoard(): BoardView {
  return {
    tickets: 4,
    warnings: [],
    columns: [
      {
        key: { kind: 'batch', number: 1 },
        title: 'Batch 1: Skeleton',
        name: 'Skeleton',
        line: 3,
        phases: [
          { kind: 'design', state: 'passed' },
          { kind: 'build', state: 'running' },
        ],
        cards: [mockCard('T-001', 'Project skeleton', { status: 'doing', owner: 'codex' })],
        milestone: { number: 1, title: 'Foundations' },
      },
      {
        key: { kind: 'batch', number: 2 },
        title: 'Batch 2: Board',
        name: 'Board',
        line: 10,
        phases: [],
        cards: [
          mockCard('T-002', 'Board columns', {
            depends_on: [{ id: 'T-001', status: 'doing', finished: false }],
            blocked_by_dependency: true,
          }),
          mockCard('T-003', 'Drag and drop'),
        ],
        milestone: { number: 2, title: 'The board' },
      },
      { key: { kind: 'backlog' }, title: 'Backlog', name: 'Backlog', line: null, phases: [], cards: [mockCard('T-004', 'Dark theme')], milestone: null },
    ],
  };
}

/** A board of `batches` batches with `perBatch` tickets each (the 1 000-ticket benchmark). */
export function bigBoard(batches: number, perBatch: number): BoardView {
  const columns = [];
  let n = 0;
  for (let b = 1; b <= batches; b++) {
    const cards = [];
    for (let i = 0; i < perBatch; i++) {
      n += 1;
      const id = `T-${String(n).padStart(4, '0')}`;
      cards.push(
        mockCard(id, `Ticket ${n}: do one small thing`, {
          owner: n % 3 === 0 ? 'codex' : null,
          depends_on: n > 1 && n % 4 === 0 ? [{ id: `T-${String(n - 1).padStart(4, '0')}`, status: 'todo', finished: false }] : [],
        }),
      );
    }
    // Milestones of ten batches each: the lanes render with the columns.
    const milestone = { number: Math.ceil(b / 10), title: '' };
    columns.push({ key: { kind: 'batch' as const, number: b }, title: `Batch ${b}`, name: '', line: null, phases: [], cards, milestone });
  }
  columns.push({ key: { kind: 'backlog' as const }, title: 'Backlog', name: 'Backlog', line: null, phases: [], cards: [], milestone: null });
  return { columns, tickets: n, warnings: [] };
}
