import { describe, expect, it } from 'vitest';
import type { LiveRun } from '../lib/bindings/LiveRun';
import { actions, orderRuns, statusLabel } from './live';

function run(id: number, phase: string, outcome: string): LiveRun {
  return { id, phase, agent: 'builder', outcome, completedBy: null, startedMs: id, endedMs: null };
}

describe('live cockpit helpers', () => {
  it('lists open runs first, then the latest run of each finished phase, newest first', () => {
    const runs = [run(1, 'design(1)', 'passed'), run(2, 'build(1)', 'crashed'), run(3, 'design(2)', 'passed'), run(4, 'build(1)', 'running')];
    expect(orderRuns(runs).map((r) => `${r.phase} ${r.outcome}`)).toEqual(['build(1) running', 'design(2) passed', 'design(1) passed']);
  });
  it('offers retry for failed, crashed and cancelled runs and complete for running ones', () => {
    const cases: Array<[string, string[]]> = [
      ['running', ['complete']],
      ['failed', ['retry']],
      ['crashed', ['retry']],
      ['cancelled', ['retry']],
      ['passed', []],
    ];
    for (const [outcome, want] of cases) expect(actions(run(1, 'build(1)', outcome))).toEqual(want);
  });
  it('names statuses in words', () => {
    expect(['working', 'needs_input', 'weird'].map(statusLabel)).toEqual(['working', 'needs input', 'weird']);
  });
});
