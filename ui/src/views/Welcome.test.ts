import { render, screen, fireEvent, waitFor } from '@testing-library/svelte';
import { describe, expect, it } from 'vitest';
import Welcome from './Welcome.svelte';
import { MockBackend } from '../test/mockBackend';
import { setBackend } from '../lib/backend';
import type { WelcomeCli } from '../lib/bindings/WelcomeCli';
import type { ProjectSummary } from './types';

const codexMissing: WelcomeCli = {
  detected: { cli: 'codex', program: 'codex', path: null, version: null, error: null },
  name: 'Codex',
  install: 'npm install --global --prefix ~/.local --no-audit --no-fund @openai/codex',
  installHint: null,
  signIn: null,
};
const claudeFound: WelcomeCli = {
  detected: { cli: 'claude-code', program: 'claude', path: '/u/bin/claude', version: '2.1.332', error: null },
  name: 'Claude Code',
  install: 'npm install --global --prefix ~/.local --no-audit --no-fund @anthropic-ai/claude-code',
  installHint: null,
  signIn: '/u/bin/claude',
};
const aiderMissing: WelcomeCli = {
  detected: { cli: 'aider', program: 'aider', path: null, version: null, error: null },
  name: 'Aider',
  install: null,
  installHint: 'python3 -m pip install --user aider-install && aider-install',
  signIn: null,
};

function setup(signInPane: string | null = 'designer') {
  const mock = new MockBackend({ panes: [], workdir: '/w', bench: false, gpu: false });
  mock.welcomeValue = { clis: [claudeFound, codexMissing, aiderMissing], userBin: '/home/u/.local/bin' };
  setBackend(mock);
  const opened: ProjectSummary[] = [];
  let newProject = 0;
  let closed = 0;
  render(Welcome, {
    signInPane,
    onDemo: (p: ProjectSummary) => opened.push(p),
    onNewProject: () => (newProject += 1),
    onClose: () => (closed += 1),
  });
  return { mock, opened, counts: () => ({ newProject, closed }) };
}

function rows() {
  return [...screen.getByTestId('welcome-clis').querySelectorAll('li')].map((li) => [li.dataset.cli, li.dataset.found]);
}

describe('welcome', () => {
  it('lists the CLIs found and missing, with the exact install command and no button where npm cannot', async () => {
    setup();
    await screen.findByTestId('welcome-clis');
    expect(rows()).toEqual([
      ['claude-code', 'yes'],
      ['codex', 'no'],
      ['aider', 'no'],
    ]);
    expect(screen.getByText('1 of 3 installed.', { exact: false })).toBeTruthy();
    expect(screen.getByText(codexMissing.install!)).toBeTruthy();
    expect(screen.getByText(aiderMissing.installHint!)).toBeTruthy();
    expect(screen.queryByTestId('welcome-install-aider')).toBeNull();
    expect(screen.queryByTestId('welcome-install-claude-code')).toBeNull();
  });

  it('installs only on a click, streams the output, and shows the CLI as installed after', async () => {
    const { mock } = setup();
    await screen.findByTestId('welcome-clis');
    expect(mock.calls.filter((c) => c.cmd === 'cliInstall')).toEqual([]);
    mock.installLines = ['added 1 package in 2s'];
    mock.installResult = () => ({
      ...codexMissing,
      detected: { ...codexMissing.detected, path: '/home/u/.local/bin/codex', version: 'codex-cli 0.171.0' },
      signIn: '/home/u/.local/bin/codex login',
    });
    await fireEvent.click(screen.getByTestId('welcome-install-codex'));
    expect(mock.calls).toContainEqual({ cmd: 'cliInstall', cli: 'codex' });
    expect((await screen.findByTestId('welcome-install-message')).textContent).toContain(
      'Codex codex-cli 0.171.0 is installed in /home/u/.local/bin.',
    );
    expect(screen.getByTestId('welcome-install-output').textContent).toContain('added 1 package in 2s');
    await waitFor(() => expect(rows()[1]).toEqual(['codex', 'yes']));
    expect(screen.getByTestId('welcome-sign-in-codex')).toBeTruthy();
  });

  it('says in words when an install fails', async () => {
    const { mock } = setup();
    await screen.findByTestId('welcome-clis');
    mock.installResult = () => {
      throw new Error('`npm install ...` failed (exit status: 1): npm ERR! network');
    };
    await fireEvent.click(screen.getByTestId('welcome-install-codex'));
    expect((await screen.findByTestId('welcome-install-message')).textContent).toContain(
      'Could not install Codex: Error: `npm install ...` failed',
    );
    expect(rows()[1]).toEqual(['codex', 'no']);
  });

  it("types a CLI's own sign-in into the terminal pane, and cannot without one", async () => {
    const { mock } = setup('designer');
    await fireEvent.click(await screen.findByTestId('welcome-sign-in-claude-code'));
    expect(mock.calls).toContainEqual({ cmd: 'write', paneId: 'designer', data: '/u/bin/claude\r', binary: false });
  });

  it('sign-in is disabled while a project fills the panes', async () => {
    setup(null);
    const button = (await screen.findByTestId('welcome-sign-in-claude-code')) as HTMLButtonElement;
    expect(button.disabled).toBe(true);
  });

  it('opens the demo project, starts a new one, and closes', async () => {
    const { mock, opened, counts } = setup();
    await fireEvent.click(screen.getByTestId('welcome-demo'));
    await waitFor(() => expect(opened).toEqual([mock.demoProject]));
    await fireEvent.click(screen.getByTestId('welcome-new-project'));
    await fireEvent.click(screen.getByTestId('welcome-close'));
    expect(counts()).toEqual({ newProject: 1, closed: 1 });
  });
});
