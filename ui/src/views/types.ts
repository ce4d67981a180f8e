// The board, project and timeline shapes as the shell sends them: the engine's own serde JSON
// (`engine::board`, `engine::project::setup`, `engine::scheduler::simulate`), so field names are snake_case.
// Those types are generated from Rust (ts-rs, `ui/src/lib/bindings/`, checked by `bindings_are_fresh`);
// only the shell's own small shapes without a Rust `TS` derive and UI-side helpers are declared here.

import type { ColumnKey } from '../lib/bindings/ColumnKey';
import type { Pattern } from '../lib/bindings/Pattern';
import type { PhaseKind } from '../lib/bindings/PhaseKind';
import type { Role } from '../lib/bindings/Role';
import type { SimOutput } from '../lib/bindings/SimOutput';
import type { SimRow } from '../lib/bindings/SimRow';

export type { TicketStatus } from '../lib/bindings/TicketStatus';
export type { PhaseKind } from '../lib/bindings/PhaseKind';
export type { PhaseState } from '../lib/bindings/PhaseState';
export type { ColumnKey } from '../lib/bindings/ColumnKey';
export type { PhaseBadge } from '../lib/bindings/PhaseBadge';
export type { DependencyBadge } from '../lib/bindings/DependencyBadge';
export type { Card } from '../lib/bindings/Card';
export type { Column } from '../lib/bindings/Column';
export type { BoardView } from '../lib/bindings/BoardView';
export type { FieldValue } from '../lib/bindings/FieldValue';
export type { BoardOp } from '../lib/bindings/BoardOp';
export type { OpOutcome } from '../lib/bindings/OpOutcome';

export const PHASES: PhaseKind[] = ['design', 'build', 'review', 'qa'];

export function columnTestId(key: ColumnKey): string {
  return key.kind === 'batch' ? `batch-${key.number}` : 'batch-backlog';
}
export function sameColumn(a: ColumnKey, b: ColumnKey): boolean {
  return a.kind === b.kind && (a.kind === 'backlog' || (b.kind === 'batch' && a.number === b.number));
}

// ---- projects and the setup wizard ----
export type { Pattern } from '../lib/bindings/Pattern';
export type { CliKind } from '../lib/bindings/CliKind';
export type { Role } from '../lib/bindings/Role';
export type { DetectedCli } from '../lib/bindings/DetectedCli';
export type { AgentProfile } from '../lib/bindings/AgentProfile';
export type { GitState } from '../lib/bindings/GitState';
export type { TicketsAction } from '../lib/bindings/TicketsAction';
export type { TicketsReport } from '../lib/bindings/TicketsReport';
export type { RecognisedBatch } from '../lib/bindings/RecognisedBatch';
export type { SetupPlan } from '../lib/bindings/SetupPlan';

export type { SetupChoices } from '../lib/bindings/SetupChoices';
export type { ProjectSummary } from '../lib/bindings/ProjectSummary';

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
export type { SimRow } from '../lib/bindings/SimRow';
export type { SimOutput } from '../lib/bindings/SimOutput';
/** One phase run, simulated (`leap simulate --json`) or recorded. Minutes from the start. */
export type PhaseRunBar = SimRow;
/** `leap simulate --json`'s shape (the orchestrator's summary of a live run has the same). */
export type Schedule = SimOutput;
export type { TimelineData } from '../lib/bindings/TimelineData';
export type { TimelineSource } from '../lib/bindings/TimelineSource';

// ---- notifications ----
export type { AppNotice } from '../lib/bindings/AppNotice';
export type { NoticeKind } from '../lib/bindings/NoticeKind';
