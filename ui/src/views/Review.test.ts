import { render, screen, fireEvent, waitFor } from '@testing-library/svelte';
import { describe, expect, it } from 'vitest';
import Review from './Review.svelte';
import { MockBackend } from '../test/mockBackend';
import { setBackend } from '../lib/backend';
import type { LiveState } from '../lib/bindings/LiveState';
import type { LiveRun } from '../lib/bindings/LiveRun';

const PATCH = `diff --git a/src/t-001.sh b/src/t-001.sh
new file mode 100644
index 0000000..1111111
--- /dev/null
+++ b/src/t-001.sh
@@ -0,0 +1,3 @@
+#!/bin/sh
+# T-001: Greeting script (Batch 1)
+echo "T-001: Greeting script"
`;

function run(phase: string, outcome: string, agent = 'designer'): LiveRun {
  return { id: Math.floor(Math.random() * 1e9), phase, agent, outcome, completedBy: null, startedMs: 0, endedMs: null };
}

function live(runs: LiveRun[]): LiveState {
  return {
    project: 'demo',
    dir: '/p',
    generation: 1,
    cockpit: { panes: [], workdir: '/p', bench: false, gpu: false },
    agents: [],
    runs,
    finished: false,
    heldSync: null,
  };
}

function setup(runs: LiveRun[]) {
  const mock = new MockBackend({ panes: [], workdir: '/p', bench: false, gpu: false });
  mock.reviewBatchesValue = [1];
  mock.diffs.set(1, {
    range: { batch: 1, base: 'a'.repeat(40), head: 'b'.repeat(40) },
    files: [{ path: 'src/t-001.sh', added: 3, removed: 0 }],
    patch: PATCH,
    truncated: false,
  });
  setBackend(mock);
  render(Review, { live: live(runs) });
  return mock;
}

describe('review', () => {
  it('shows the latest batch diff with its files, and the reviewer verdicts so far', async () => {
    setup([run('build(1)', 'passed', 'builder'), run('review(1)', 'failed'), run('fix(1)', 'passed', 'builder'), run('review(1)', 'running')]);
    expect((await screen.findByTestId('review-files')).textContent).toContain('src/t-001.sh');
    expect((await screen.findByTestId('review-diff')).textContent).toContain('echo "T-001: Greeting script"');
    expect(screen.getByTestId('review-stage').textContent).toBe('review(1) running');
    expect(screen.getByTestId('review-verdicts').textContent).toContain('designer: failed');
  });

  it('comments on a line, keeps comments pending, and sends them together as one request for changes', async () => {
    const mock = setup([run('build(1)', 'passed', 'builder'), run('review(1)', 'running')]);
    const diff = await screen.findByTestId('review-diff');
    const send = screen.getByTestId('review-send') as HTMLButtonElement;
    expect(send.disabled).toBe(true);
    // The third line of the new file.
    const row = [...diff.querySelectorAll('tr')].find((tr) => tr.textContent?.includes('echo "T-001'))!;
    await fireEvent.click(row.querySelector('td:last-child')!);
    expect(screen.getByTestId('review-draft').textContent).toContain('src/t-001.sh:3');
    await fireEvent.input(screen.getByTestId('review-comment'), { target: { value: 'print a usage line' } });
    await fireEvent.click(screen.getByTestId('review-add-comment'));
    const first = [...diff.querySelectorAll('tr')].find((tr) => tr.textContent?.includes('#!/bin/sh'))!;
    await fireEvent.click(first.querySelector('td:last-child')!);
    await fireEvent.input(screen.getByTestId('review-comment'), { target: { value: 'use bash' } });
    await fireEvent.click(screen.getByTestId('review-add-comment'));
    expect(screen.getByTestId('review-pending').textContent).toContain('src/t-001.sh:3 print a usage line');
    expect(mock.liveCommands).toEqual([]);
    await fireEvent.click(screen.getByTestId('review-send'));
    await waitFor(() =>
      expect(mock.liveCommands).toEqual([
        {
          kind: 'reviewBatch',
          batch: 1,
          approve: false,
          comments: [
            { file: 'src/t-001.sh', line: 3, text: 'print a usage line' },
            { file: 'src/t-001.sh', line: 1, text: 'use bash' },
          ],
        },
      ]),
    );
    await waitFor(() => expect(screen.queryByTestId('review-pending')).toBeNull());
  });

  it('highlights the diff after drawing it, in the dark theme, and follows the theme toggle', async () => {
    setup([run('build(1)', 'passed', 'builder')]);
    const diff = await screen.findByTestId('review-diff');
    expect(diff.querySelector('.d2h-wrapper.d2h-dark-color-scheme')).not.toBeNull();
    await waitFor(() => expect(diff.dataset.highlighted).toBe('1'));
    expect(diff.querySelector('.d2h-code-line-ctn.hljs.bash')).not.toBeNull();
    expect([...diff.querySelectorAll('.hljs-built_in')].map((e) => e.textContent)).toContain('echo');
    document.documentElement.dataset.theme = 'light';
    try {
      await waitFor(() => expect(diff.querySelector('.d2h-wrapper.d2h-light-color-scheme')).not.toBeNull());
      await waitFor(() => expect(diff.querySelector('.hljs-built_in')).not.toBeNull());
    } finally {
      delete document.documentElement.dataset.theme;
    }
  });

  it('answers only a running review, and says when no diff is recorded', async () => {
    setup([run('build(1)', 'running', 'builder')]);
    await screen.findByTestId('review-diff');
    expect((screen.getByTestId('review-approve') as HTMLButtonElement).disabled).toBe(true);
    const mock = new MockBackend({ panes: [], workdir: '/p', bench: false, gpu: false });
    setBackend(mock);
    document.body.innerHTML = '';
    render(Review, { live: null });
    expect((await screen.findByTestId('review-empty')).textContent).toContain('No batch has a recorded diff yet');
  });
});
