// The board, project and timeline shapes as the shell sends them: the engine's own serde JSON
// (`engine::board`, `engine::project::setup`, `engine::scheduler::simulate`), so field names are snake_case.

export type TicketStatus = 'todo' | 'doing' | 'review' | 'blocked' | 'done' | 'dropped';
export type PhaseKind =
  | 'discovery'
  | 'requirements'
  | 'plan'
  | 'design'
  | 'build'
  | 'review'
  | 'fix'
  | 'qa'
  | 'verify'
  | 'recheck';
export type PhaseState = 'waiting' | 'running' | 'passed' | 'failed';
export type ColumnKey = { kind: 'batch'; number: number } | { kind: 'backlog' };

export interface PhaseBadge {
  kind: PhaseKind;
  state: PhaseState;
  /** The agent running it, when the orchestrator says. */
  agent?: string | null;
}
export interface DependencyBadge {
  id: string;
  status: TicketStatus | null;
  finished: boolean;
}
export interface Card {
  id: string;
  title: string;
  status: TicketStatus;
  status_unknown: boolean;
  status_raw: string | null;
  owner: string | null;
  priority: string | null;
  depends_on: DependencyBadge[];
  blocked_by_dependency: boolean;
  line_start: number;
  line_end: number;
}
export interface Column {
  key: ColumnKey;
  title: string;
  line: number | null;
  phases: PhaseBadge[];
  cards: Card[];
}
export interface BoardView {
  columns: Column[];
  tickets: number;
  warnings: string[];
}

export type BoardOp =
  | { op: 'move_ticket'; ticket: string; to: ColumnKey; position?: number | null }
  | { op: 'move_batch'; batch: number; position: number }
  | { op: 'add_ticket'; batch: number | null; title: string }
  | {
      op: 'edit_ticket';
      ticket: string;
      title?: string | null;
      status?: TicketStatus | null;
      fields?: { field: string; value: string }[];
    }
  | { op: 'delete_ticket'; ticket: string }
  | { op: 'add_batch'; title: string }
  | { op: 'rename_batch'; batch: number; title: string }
  | { op: 'delete_batch'; batch: number; with_tickets?: boolean };

export type OpOutcome =
  | { result: 'applied'; view: BoardView; created: string | null; undo_depth: number }
  | { result: 'needs_confirmation'; reason: string };

export const PHASES: PhaseKind[] = ['design', 'build', 'review', 'qa'];

export function columnTestId(key: ColumnKey): string {
  return key.kind === 'batch' ? `batch-${key.number}` : 'batch-backlog';
}
export function sameColumn(a: ColumnKey, b: ColumnKey): boolean {
  return a.kind === b.kind && (a.kind === 'backlog' || (b.kind === 'batch' && a.number === b.number));
}

// ---- projects and the setup wizard ----
export type Pattern = 'leapfrog' | 'pipeline' | 'specialist';
export type CliKind = 'claude-code' | 'codex' | 'aider' | 'gemini' | 'opencode' | 'custom';
export type Role = 'discovery' | 'requirements' | 'plan' | 'design' | 'build' | 'review' | 'fix' | 'qa';

export interface DetectedCli {
  cli: CliKind;
  program: string;
  path: string | null;
  version: string | null;
  error: string | null;
}
export interface AgentProfile {
  id: string;
  display_name: string;
  cli: CliKind;
  command: string;
  args?: string[];
  // `args` may be absent from the JSON; read it as empty.
  env: Record<string, string>;
  roles: Role[];
}
export interface SetupPlan {
  dir: string;
  name: string;
  id: string | null;
  git: { is_repo: boolean; root: string | null; git_missing: boolean };
  git_init: boolean;
  detected: DetectedCli[];
  pattern: Pattern;
  agents: AgentProfile[];
  verify: string | null;
  verify_source: string | null;
  lookahead: number | null;
  sync_every: number | null;
  tickets: { path: string; action: 'create' | 'adopt'; batches: number; tickets: number; warnings: string[] };
  existing_project_file: boolean;
  warnings: string[];
}
/** What the wizard decided, carried out by the shell with the engine's setup. */
export interface SetupChoices {
  pattern: Pattern;
  /** Agent slot (`designer`, `builder`, `reviewer`) to command. */
  assignments: Record<string, string>;
  verify: string;
  lookahead: number;
  syncEvery: number;
  gitInit: boolean;
}
export interface ProjectSummary {
  id: string;
  name: string;
  dir: string;
}

/** The agent slots of each pattern and their roles (as `engine::project::setup::slots` says). */
export const PATTERN_SLOTS: Record<Pattern, { key: string; roles: Role[] }[]> = {
  leapfrog: [
    { key: 'designer', roles: ['discovery', 'requirements', 'plan', 'design', 'review', 'qa'] },
    { key: 'builder', roles: ['build', 'fix'] },
  ],
  pipeline: [
    { key: 'designer', roles: ['discovery', 'requirements', 'plan', 'design', 'review', 'qa'] },
    { key: 'builder', roles: ['build', 'fix'] },
  ],
  specialist: [
    { key: 'designer', roles: ['discovery', 'requirements', 'plan', 'design'] },
    { key: 'reviewer', roles: ['review', 'qa'] },
    { key: 'builder', roles: ['build', 'fix'] },
  ],
};

// ---- timeline ----
/** One phase run: simulated (`leap simulate --json`) or recorded. Minutes from the start. */
export interface PhaseRunBar {
  agent: string | null;
  phase: PhaseKind;
  batch: number | null;
  start: number;
  end: number;
}
export interface Schedule {
  batches: number;
  sequential_minutes: number;
  parallel_minutes: number;
  savings: number;
  schedule: PhaseRunBar[];
}
export interface TimelineData {
  schedule: Schedule;
  /** Minutes since the run started; `null` when this is a forecast only. */
  now: number | null;
  /** `forecast` (simulated from the board) or `live` (phase runs of the orchestrator). */
  source: 'forecast' | 'live';
}

// ---- notifications ----
export interface AppNotice {
  kind: 'needs_input' | 'review_failed' | 'verify_failed' | 'ready_for_review';
  title: string;
  body: string;
  /** The agent pane it concerns, for its badge. */
  pane: string | null;
}
