import { render, screen, fireEvent } from '@testing-library/svelte';
import { describe, expect, it, vi } from 'vitest';
import AgentBar from './AgentBar.svelte';
import RunBar from './RunBar.svelte';
import type { LiveAgent } from '../lib/bindings/LiveAgent';
import type { LiveCommand } from '../lib/bindings/LiveCommand';
import type { LiveState } from '../lib/bindings/LiveState';

function agent(status: string, extra: Partial<LiveAgent> = {}): LiveAgent {
  return {
    id: 'builder',
    status,
    signal: 'screen',
    reason: 'a permission dialog',
    roles: ['build', 'fix'],
    phase: 'build(1)',
    queued: null,
    paused: false,
    pid: 42,
    worktree: null,
    canUndo: false,
    ...extra,
  };
}

const base: LiveState = {
  project: 'demo',
  dir: '/tmp/demo',
  generation: 1,
  cockpit: { panes: [], workdir: '/tmp/demo', bench: false, gpu: false },
  agents: [],
  finished: false,
  runs: [],
  heldSync: null,
};

describe('agent bar', () => {
  it('shows status, signal, roles and phase, and the control that fits the status', async () => {
    const cases: Array<[LiveAgent, string, LiveCommand]> = [
      [agent('working'), 'pause-builder', { kind: 'pauseAgent', agent: 'builder' }],
      [agent('idle', { paused: true }), 'resume-builder', { kind: 'resumeAgent', agent: 'builder' }],
      [agent('exited'), 'restart-builder', { kind: 'restartAgent', agent: 'builder' }],
      // A usage limit with no reset time waits for the user to resume the agent.
      [
        agent('limited', { reason: 'limited: usage limit reached with no reset time; resume the agent when it can work again' }),
        'resume-builder',
        { kind: 'resumeAgent', agent: 'builder' },
      ],
      // One with a reset time resumes by itself; the user may still pause it.
      [agent('limited', { reason: 'limited until 19:46' }), 'pause-builder', { kind: 'pauseAgent', agent: 'builder' }],
    ];
    for (const [a, button, want] of cases) {
      const sent: LiveCommand[] = [];
      const { unmount } = render(AgentBar, { id: 'builder', agent: a, onCommand: (c: LiveCommand) => sent.push(c) });
      const bar = screen.getByTestId('agent-builder');
      expect(bar.dataset.status).toBe(a.status);
      expect(bar.textContent).toContain('via screen');
      expect(bar.textContent).toContain('build · fix');
      expect(screen.getByTestId('agent-phase-builder').textContent).toBe('build(1)');
      await fireEvent.click(screen.getByTestId(button));
      expect(sent).toEqual([want]);
      unmount();
    }
  });

  it('badges an agent that needs input', () => {
    render(AgentBar, { id: 'builder', agent: agent('needs_input'), onCommand: () => {} });
    expect(screen.getByTestId('needs-input-builder').textContent).toBe('needs input');
    expect(screen.getByTestId('agent-status-builder').textContent).toContain('needs input');
  });

  it('shows until when a limited agent waits', () => {
    const { unmount } = render(AgentBar, {
      id: 'builder',
      agent: agent('limited', { reason: 'limited until 19:46' }),
      onCommand: () => {},
    });
    expect(screen.getByTestId('limited-builder').textContent).toBe('limited until 19:46');
    expect(screen.getByTestId('agent-status-builder').textContent).toContain('limited');
    unmount();
    render(AgentBar, {
      id: 'builder',
      agent: agent('limited', { reason: 'limited: usage limit reached with no reset time; resume the agent when it can work again' }),
      onCommand: () => {},
    });
    expect(screen.getByTestId('limited-builder').textContent).toBe('limited: no reset time');
  });
});

describe('agent bar with batches on branches', () => {
  it("shows the builder's worktree and branch, and Undo when it runs no phase", async () => {
    const sent: LiveCommand[] = [];
    render(AgentBar, {
      id: 'builder',
      agent: agent('idle', {
        phase: null,
        canUndo: true,
        worktree: { path: '/p/.leapfrog/worktrees/builder', branch: 'leapfrog/batch-2', bytes: 1_300_000 },
      }),
      onCommand: (c: LiveCommand) => sent.push(c),
    });
    expect(screen.getByTestId('worktree-builder').textContent).toBe('⎇ leapfrog/batch-2 · 1.3 MB');
    await fireEvent.click(screen.getByTestId('undo-builder'));
    expect(sent).toEqual([{ kind: 'undoPhase', agent: 'builder' }]);
  });

  it('offers no Undo while a phase runs', () => {
    render(AgentBar, { id: 'builder', agent: agent('working'), onCommand: () => {} });
    expect(screen.queryByTestId('undo-builder')).toBeNull();
    expect(screen.queryByTestId('worktree-builder')).toBeNull();
  });
});

describe('held sync point', () => {

  it('says which batch conflicts where, and retries or hands it to the builder', async () => {
    const sent: LiveCommand[] = [];
    const live = {
      ...base,
      heldSync: { sync: 1, batch: 2, files: ['NOTES.md', 'src/a.rs'], message: 'sync point 1 is held: ...', builder: null },
    };
    render(RunBar, { live, message: '', onCommand: (c: LiveCommand) => sent.push(c), onStop: () => {} });
    expect(screen.getByTestId('sync-held').textContent).toContain('batch 2 conflicts in NOTES.md, src/a.rs');
    await fireEvent.click(screen.getByTestId('sync-retry'));
    await fireEvent.click(screen.getByTestId('sync-to-builder'));
    expect(sent).toEqual([{ kind: 'runVerify' }, { kind: 'conflictToBuilder' }]);
  });

  it('shows who resolves it once handed over, and a refusal in words with only Retry', () => {
    const { unmount } = render(RunBar, {
      live: { ...base, heldSync: { sync: 1, batch: 2, files: ['NOTES.md'], message: 'm', builder: 'builder2' } },
      message: '',
      onCommand: () => {},
      onStop: () => {},
    });
    expect(screen.getByTestId('sync-held-builder').textContent).toBe('builder2 is resolving it');
    expect(screen.queryByTestId('sync-retry')).toBeNull();
    unmount();
    render(RunBar, {
      live: { ...base, heldSync: { sync: 2, batch: null, files: [], message: 'the integration branch main was moved during the run', builder: null } },
      message: '',
      onCommand: () => {},
      onStop: () => {},
    });
    expect(screen.getByTestId('sync-held').textContent).toContain('was moved during the run');
    expect(screen.getByTestId('sync-retry')).toBeTruthy();
    expect(screen.queryByTestId('sync-to-builder')).toBeNull();
  });
});

describe('run bar', () => {
  it('lists phase runs with how they completed, retry for a crashed one, done for a running one, and verify', async () => {
    const live: LiveState = {
      ...base,
      runs: [
        { id: 1, phase: 'design(1)', agent: 'designer', outcome: 'passed', completedBy: 'handoff block', startedMs: 1, endedMs: 2 },
        { id: 2, phase: 'build(1)', agent: 'builder', outcome: 'crashed', completedBy: 'process exit', startedMs: 2, endedMs: 3 },
        { id: 3, phase: 'design(2)', agent: 'designer', outcome: 'running', completedBy: null, startedMs: 2, endedMs: null },
      ],
    };
    const sent: LiveCommand[] = [];
    render(RunBar, { live, message: '', onCommand: (c: LiveCommand) => sent.push(c), onStop: () => {} });
    expect(screen.getByTestId('completed-by-design(1)').textContent).toBe('handoff block');
    await fireEvent.click(screen.getByTestId('retry-build(1)'));
    await fireEvent.click(screen.getByTestId('complete-design(2)'));
    await fireEvent.click(screen.getByTestId('run-verify'));
    expect(sent).toEqual([
      { kind: 'retry', phase: 'build(1)' },
      { kind: 'markComplete', phase: 'design(2)', passed: true },
      { kind: 'runVerify' },
    ]);
    expect(screen.queryByTestId('run-finished')).toBeNull();
  });

  it('stops the run only when asked twice, and the question lapses', async () => {
    vi.useFakeTimers();
    let stops = 0;
    render(RunBar, { live: base, message: '', onCommand: () => {}, onStop: () => (stops += 1) });
    const stop = screen.getByTestId('run-stop');
    await fireEvent.click(stop);
    expect(stops).toBe(0);
    expect(stop.textContent).toBe('Stop all agents?');
    // Not confirmed within 4 s: asked again from the start.
    await vi.advanceTimersByTimeAsync(4100);
    expect(stop.textContent).toBe('Stop');
    await fireEvent.click(stop);
    expect(stops).toBe(0);
    await fireEvent.click(stop);
    expect(stops).toBe(1);
    expect(stop.textContent).toBe('Stop');
    vi.useRealTimers();
  });
});
