// Pure helpers of the live cockpit (the running project's agents and phase runs).
import type { LiveRun } from '../lib/bindings/LiveRun';

const STATUS: Record<string, string> = {
  working: 'working',
  idle: 'idle',
  needs_input: 'needs input',
  exited: 'exited',
  offline: 'offline',
  limited: 'limited',
};

export function statusLabel(status: string): string {
  return STATUS[status] ?? status;
}

/** Runs that want a hand (running, failed, crashed) first, then the finished ones, newest first. */
export function orderRuns(runs: LiveRun[]): LiveRun[] {
  const open = (r: LiveRun) => r.outcome === 'running' || r.outcome === 'failed' || r.outcome === 'crashed';
  const latest = new Map<string, LiveRun>();
  for (const r of runs) latest.set(r.phase, r);
  const last = [...latest.values()];
  return [...last.filter(open), ...last.filter((r) => !open(r)).reverse()];
}

/** `retry` for failed or crashed runs; `complete` for running ones. */
export function actions(run: LiveRun): Array<'retry' | 'complete'> {
  if (run.outcome === 'running') return ['complete'];
  if (run.outcome === 'failed' || run.outcome === 'crashed' || run.outcome === 'cancelled') return ['retry'];
  return [];
}

/** A disk size in words: `812 B`, `4.2 KB`, `1.3 MB`, `2.0 GB`. */
export function formatBytes(bytes: number): string {
  if (bytes < 1000) return `${bytes} B`;
  const units = ['KB', 'MB', 'GB', 'TB'];
  let v = bytes / 1000;
  let i = 0;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return `${v.toFixed(1)} ${units[i]}`;
}
