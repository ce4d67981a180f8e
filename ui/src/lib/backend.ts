// The ONE module of the UI that talks to the Tauri shell. Components call `backend()` and never import
// @tauri-apps/* themselves, so tests swap in a mock with `setBackend()` (see test/mockBackend.ts).
import { Channel, invoke } from '@tauri-apps/api/core';
import { listen } from '@tauri-apps/api/event';
import type { Cockpit } from './bindings/Cockpit';
import type { LogLine } from './bindings/LogLine';
import type { PaneExit } from './bindings/PaneExit';
import type { PaneSize } from './bindings/PaneSize';
import type { UiMark } from './bindings/UiMark';
import type { LiveCommand } from './bindings/LiveCommand';
import type { LiveEvent } from './bindings/LiveEvent';
import type { LiveState } from './bindings/LiveState';
import type { PackEntry } from './bindings/PackEntry';
import type { RulesFile } from './bindings/RulesFile';
import type { ProjectHold } from './bindings/ProjectHold';
import type { HoldAnswer } from './bindings/HoldAnswer';
import type { AboutInfo } from './bindings/AboutInfo';
import type { Welcome } from './bindings/Welcome';
import type { BatchDiff } from './bindings/BatchDiff';
import type { WelcomeCli } from './bindings/WelcomeCli';
import type { CliKind } from './bindings/CliKind';
import type {
  AppNotice,
  BoardOp,
  BoardView,
  OpOutcome,
  ProjectSummary,
  SetupChoices,
  SetupPlan,
  TimelineData,
} from '../views/types';

export type Unsubscribe = () => void;

/** Everything the cockpit needs from the shell. Names follow the Tauri commands one for one. */
export interface Backend {
  /** The agents of the session and their panes, in display order. */
  cockpit(): Promise<Cockpit>;
  /**
   * Connects a pane's output to `onOutput` (raw PTY bytes, in order) and sets its size.
   * Bytes written before the attach are delivered first.
   */
  paneAttach(paneId: string, size: PaneSize, onOutput: (bytes: Uint8Array) => void): Promise<void>;
  /** Keystrokes (or pasted text) to the pane's PTY. `binary` strings carry one byte per char. */
  paneWrite(paneId: string, data: string, binary?: boolean): Promise<void>;
  paneResize(paneId: string, size: PaneSize): Promise<void>;
  /** Tells the engine that `bytes` more output bytes were rendered, so it may read further. */
  paneAck(paneId: string, bytes: number): Promise<void>;
  onPaneExit(handler: (exit: PaneExit) => void): Promise<Unsubscribe>;
  /** The app's own log: the lines so far, then every new one. */
  logsSubscribe(onLine: (line: LogLine) => void): Promise<void>;
  /** Opens an http(s) link from a terminal in the desktop's browser. */
  openLink(url: string): Promise<void>;
  /** Opens another window on the same runs, showing the project in `dir` (or none). */
  newWindow(dir: string | null): Promise<void>;
  clipboardRead(): Promise<string>;
  clipboardWrite(text: string): Promise<void>;
  /** Milestones the UI reaches (first painted prompt, frame gaps); the shell logs them. */
  uiMark(mark: UiMark): Promise<void>;

  // ---- Board, projects, timeline (src-tauri/src/{board,projects,timeline}.rs) ----
  /** The open project's board; `null` when no project is open. */
  boardView(): Promise<BoardView | null>;
  /** One board operation; `confirmed` answers a `needs_confirmation` outcome. */
  boardApply(op: BoardOp, confirmed?: boolean): Promise<OpOutcome>;
  boardUndo(): Promise<OpOutcome>;
  /** The board after TICKETS.md changed on disk (an agent's edit). */
  onBoardChanged(handler: (view: BoardView) => void): Promise<Unsubscribe>;
  projectsList(): Promise<ProjectSummary[]>;
  /** The open project, if any. */
  projectCurrent(): Promise<ProjectSummary | null>;
  projectOpen(dir: string): Promise<ProjectSummary>;
  /** The native open-folder dialog; `null` when cancelled. */
  pickFolder(): Promise<string | null>;
  projectInspect(dir: string): Promise<SetupPlan>;
  /** Carries out the wizard's choices (git init, TICKETS.md created or adopted) and opens the project. */
  projectFinish(plan: SetupPlan, choices: SetupChoices): Promise<ProjectSummary>;
  timeline(): Promise<TimelineData | null>;
  onNotice(handler: (notice: AppNotice) => void): Promise<Unsubscribe>;

  // ---- The running project (src-tauri/src/live.rs) ----
  /** The open project's orchestrator: agents, phase runs; `null` when none runs (login shells). */
  liveState(): Promise<LiveState | null>;
  /** Verify, pause/resume/restart an agent, retry or mark complete a phase; answers a line. */
  liveCommand(command: LiveCommand): Promise<string>;
  /** Stops the run in the service (its agents hung up, its state saved); the project is then held as stopped. */
  liveStop(): Promise<string>;
  /** Something happened in the run (status, phase, verify, log): refresh `liveState`. */
  onLiveEvent(handler: (event: LiveEvent) => void): Promise<Unsubscribe>;
  /** A (new) project started running, or was held. */
  onLiveChanged(handler: () => void): Promise<Unsubscribe>;
  /** The open project that does not run, and why (commands to approve, damaged run state, an error). */
  projectHold(): Promise<ProjectHold | null>;
  /** Goes on from a hold: approve the commands shown and run, start fresh, or retry. Answers a line. */
  projectHoldAnswer(answer: HoldAnswer): Promise<string>;
  /** The app's and the engine's versions, and the agent CLIs found on PATH (takes up to ~10 s). */
  about(): Promise<AboutInfo>;
  /** Versions, agent CLIs, the open project's settings without secrets and the last 200 log lines. */
  diagnostics(): Promise<string>;
  /** The welcome screen: each agent CLI found or missing, its install command and sign-in line. */
  welcome(): Promise<Welcome>;
  /** Installs a missing npm-distributed CLI into ~/.local; npm's output arrives line by line. */
  cliInstall(cli: CliKind, onLine: (line: string) => void): Promise<WelcomeCli>;
  /** Makes a fresh demo project (scripted agents, no account) and opens it. */
  demoOpen(): Promise<ProjectSummary>;
  /** The open project's batches with a recorded diff (src-tauri/src/review.rs). */
  reviewBatches(): Promise<number[]>;
  /** One batch's diff: its two refs, files and unified patch. */
  batchDiff(batch: number): Promise<BatchDiff>;
  /** The open project's reading rules, docs/CONTEXT.md (src-tauri/src/context.rs). */
  contextRules(): Promise<RulesFile>;
  /** Saves them if the file is still what was read (`stamp`); rejects in words otherwise. */
  contextRulesSave(text: string, stamp: string): Promise<RulesFile>;
  /** The context packs the run wrote, by batch and phase. */
  contextPacks(): Promise<PackEntry[]>;
  /** One pack's text. */
  contextPack(batch: number, phase: string): Promise<string>;
}

const tauriBackend: Backend = {
  cockpit: () => invoke<Cockpit>('cockpit'),
  async paneAttach(paneId, size, onOutput) {
    const output = new Channel<ArrayBuffer>();
    output.onmessage = (message) => {
      // Raw channel messages arrive as ArrayBuffer; never a JSON array of numbers.
      onOutput(new Uint8Array(message));
    };
    await invoke('pane_attach', { paneId, size, output });
  },
  paneWrite: (paneId, data, binary = false) => invoke('pane_write', { paneId, data, binary }),
  paneResize: (paneId, size) => invoke('pane_resize', { paneId, size }),
  paneAck: (paneId, bytes) => invoke('pane_ack', { paneId, bytes }),
  async onPaneExit(handler) {
    return listen<PaneExit>('pane-exit', (event) => handler(event.payload));
  },
  async logsSubscribe(onLine) {
    const lines = new Channel<LogLine>();
    lines.onmessage = onLine;
    await invoke('logs_subscribe', { lines });
  },
  openLink: (url) => invoke('open_link', { url }),
  newWindow: (dir) => invoke('new_window', { dir }),
  clipboardRead: () => invoke<string>('clipboard_read'),
  clipboardWrite: (text) => invoke('clipboard_write', { text }),
  uiMark: (mark) => invoke('ui_mark', { mark }),
  boardView: () => invoke<BoardView | null>('board_view'),
  boardApply: (op, confirmed = false) => invoke<OpOutcome>('board_apply', { op, confirmed }),
  boardUndo: () => invoke<OpOutcome>('board_undo'),
  async onBoardChanged(handler) {
    return listen<BoardView>('board-changed', (event) => handler(event.payload));
  },
  projectsList: () => invoke<ProjectSummary[]>('projects_list'),
  projectCurrent: () => invoke<ProjectSummary | null>('project_current'),
  projectOpen: (dir) => invoke<ProjectSummary>('project_open', { dir }),
  pickFolder: () => invoke<string | null>('pick_folder'),
  projectInspect: (dir) => invoke<SetupPlan>('project_inspect', { dir }),
  projectFinish: (plan, choices) => invoke<ProjectSummary>('project_finish', { plan, choices }),
  timeline: () => invoke<TimelineData | null>('timeline'),
  async onNotice(handler) {
    return listen<AppNotice>('notice', (event) => handler(event.payload));
  },
  liveState: () => invoke<LiveState | null>('live_state'),
  liveCommand: (command) => invoke<string>('live_command', { command }),
  liveStop: () => invoke<string>('live_stop'),
  async onLiveEvent(handler) {
    return listen<LiveEvent>('live-event', (event) => handler(event.payload));
  },
  async onLiveChanged(handler) {
    return listen<number>('live-changed', () => handler());
  },
  projectHold: () => invoke<ProjectHold | null>('project_hold'),
  projectHoldAnswer: (answer) => invoke<string>('project_hold_answer', { answer }),
  about: () => invoke<AboutInfo>('about'),
  diagnostics: () => invoke<string>('diagnostics'),
  welcome: () => invoke<Welcome>('welcome'),
  async cliInstall(cli, onLine) {
    const output = new Channel<string>();
    output.onmessage = onLine;
    return invoke<WelcomeCli>('cli_install', { cli, output });
  },
  demoOpen: () => invoke<ProjectSummary>('demo_open'),
  reviewBatches: () => invoke<number[]>('review_batches'),
  batchDiff: (batch) => invoke<BatchDiff>('batch_diff', { batch }),
  contextRules: () => invoke<RulesFile>('context_rules'),
  contextRulesSave: (text, stamp) => invoke<RulesFile>('context_rules_save', { text, stamp }),
  contextPacks: () => invoke<PackEntry[]>('context_packs'),
  contextPack: (batch, phase) => invoke<string>('context_pack', { batch, phase }),
};

let current: Backend = tauriBackend;

export function backend(): Backend {
  return current;
}

/** For tests: replace the backend every component uses. */
export function setBackend(next: Backend): void {
  current = next;
}
