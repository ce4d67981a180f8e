import { render, screen, fireEvent, waitFor } from '@testing-library/svelte';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import Wizard from './Wizard.svelte';
import { setBackend } from '../lib/backend';
import { MockBackend, twoAgents } from '../test/mockBackend';
import type { SetupPlan } from './types';

let mock: MockBackend;

function plan(isRepo: boolean): SetupPlan {
  return {
    dir: '/tmp/repo',
    name: 'repo',
    id: null,
    git: { is_repo: isRepo, root: isRepo ? '/tmp/repo' : null, git_missing: false },
    git_init: !isRepo,
    detected: [
      { cli: 'claude-code', program: 'claude', path: '/usr/bin/claude', version: '2.1.0', error: null },
      { cli: 'codex', program: 'codex', path: '/usr/bin/codex', version: '0.50.0', error: null },
      { cli: 'aider', program: 'aider', path: null, version: null, error: null },
    ],
    pattern: 'leapfrog',
    agents: [
      { id: 'designer', cli: 'claude-code', roles: ['design'] },
      { id: 'builder', cli: 'codex', command: 'codex', args: ['--sandbox', 'workspace-write'], roles: ['build'] },
    ],
    verify: 'cargo test',
    verify_source: 'Cargo.toml',
    lookahead: 1,
    sync_every: 2,
    qa: false,
    tickets: { path: 'TICKETS.md', action: 'create', batches: 1, tickets: 2, warnings: [], recognised: [], backlog: 0 },
    existing_project_file: false,
    warnings: [],
  };
}

beforeEach(() => {
  mock = new MockBackend(twoAgents());
  setBackend(mock);
});

async function type(testid: string, value: string) {
  await fireEvent.input(screen.getByTestId(testid), { target: { value } });
}

describe('new project wizard', () => {
  it('walks folder, agents, pattern, verify and finish, and hands the choices to the engine', async () => {
    mock.plan = plan(false);
    const onDone = vi.fn();
    render(Wizard, { onDone });
    await type('wizard-folder', '/tmp/repo');
    await fireEvent.click(screen.getByTestId('wizard-next'));
    // Not a repository: git init is offered, and on by default.
    await screen.findByTestId('wizard-clis');
    expect(mock.callsOf('inspect')).toEqual([{ cmd: 'inspect', dir: '/tmp/repo' }]);
    const clis = screen.getByTestId('wizard-clis').textContent!;
    expect(clis).toContain('2.1.0');
    expect(clis).toContain('not installed');
    await type('wizard-custom', 'my-agent --yolo');
    await fireEvent.click(screen.getByTestId('wizard-next'));
    // Pattern: each has a diagram; Specialist adds a reviewer slot.
    expect(screen.getByTestId('pattern-leapfrog').querySelector('svg')).toBeTruthy();
    await fireEvent.click(screen.getByTestId('pattern-specialist'));
    expect(screen.getByTestId('role-reviewer')).toBeTruthy();
    await type('role-builder', 'my-agent --yolo');
    await fireEvent.click(screen.getByTestId('wizard-next'));
    expect((screen.getByTestId('wizard-verify') as HTMLInputElement).value).toBe('cargo test');
    await type('wizard-verify', 'make check');
    await type('wizard-lookahead', '2');
    await fireEvent.click(screen.getByTestId('wizard-qa'));
    await fireEvent.click(screen.getByTestId('wizard-next'));
    expect(screen.getByTestId('wizard-summary').textContent).toContain('git init');
    expect(screen.getByTestId('wizard-summary').textContent).toContain('QA after each review');
    await fireEvent.click(screen.getByTestId('wizard-finish'));
    await waitFor(() => expect(onDone).toHaveBeenCalledWith({ id: 'repo', name: 'repo', dir: '/tmp/repo' }));
    const finish = mock.callsOf('finish')[0];
    expect(finish.choices).toEqual({
      pattern: 'specialist',
      assignments: { designer: 'claude', reviewer: 'claude', builder: 'my-agent --yolo' },
      verify: 'make check',
      lookahead: 2,
      syncEvery: 2,
      qa: true,
      gitInit: true,
    });
  });

  it('uses the native folder dialog, and an existing TICKETS.md is adopted, not offered git init', async () => {
    const p = plan(true);
    p.tickets = { path: 'TICKETS.md', action: 'adopt', batches: 3, tickets: 12, warnings: [], recognised: [], backlog: 0 };
    mock.plan = p;
    mock.folder = '/home/me/code/app';
    render(Wizard);
    await fireEvent.click(screen.getByText('Browse…'));
    const facts = (await screen.findByTestId('wizard-facts')).textContent!;
    expect(facts).toContain('Git repository');
    expect(facts).toContain('3 batches, 12 tickets (kept as is)');
    expect(screen.queryByTestId('wizard-git-init')).toBeNull();
    expect((screen.getByTestId('wizard-folder') as HTMLInputElement).value).toBe('/home/me/code/app');
  });

  it('names a bad folder in one line and stays on the first step', async () => {
    render(Wizard);
    await type('wizard-folder', '/nope');
    await fireEvent.click(screen.getByTestId('wizard-next'));
    expect((await screen.findByRole('alert')).textContent).toContain('/nope is not a folder');
    expect(screen.getByTestId('wizard-folder')).toBeTruthy();
  });

  it('says what to do when no agent CLI is installed, and takes a typed command', async () => {
    const p = plan(true);
    p.detected = p.detected.map((d) => ({ ...d, path: null, version: null }));
    p.agents = [];
    mock.plan = p;
    render(Wizard);
    await type('wizard-folder', '/tmp/repo');
    await fireEvent.click(screen.getByTestId('wizard-next'));
    expect((await screen.findByTestId('wizard-no-cli')).textContent).toContain('No agent CLI found');
    await fireEvent.click(screen.getByTestId('wizard-next'));
    await type('role-designer', 'claude --model opus');
    await type('role-builder', 'codex');
    for (let i = 0; i < 2; i++) await fireEvent.click(screen.getByTestId('wizard-next'));
    await fireEvent.click(screen.getByTestId('wizard-finish'));
    await waitFor(() => expect(mock.callsOf('finish')).toHaveLength(1));
    expect(mock.callsOf('finish')[0].choices.assignments).toEqual({ designer: 'claude --model opus', builder: 'codex' });
  });
});
