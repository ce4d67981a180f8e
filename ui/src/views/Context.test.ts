import { render, screen, fireEvent, waitFor } from '@testing-library/svelte';
import { beforeEach, describe, expect, it } from 'vitest';
import Context from './Context.svelte';
import { setBackend } from '../lib/backend';
import { MockBackend, twoAgents } from '../test/mockBackend';

let mock: MockBackend;

beforeEach(() => {
  mock = new MockBackend(twoAgents());
  setBackend(mock);
});

async function view() {
  render(Context);
  const text = (await screen.findByTestId('context-text')) as HTMLTextAreaElement;
  await waitFor(() => expect(text.value).toContain('Read src/ only.'));
  return text;
}

describe('context view', () => {
  it('edits docs/CONTEXT.md and saves it over what was read, with Ctrl+S too', async () => {
    const text = await view();
    const save = screen.getByTestId('context-save') as HTMLButtonElement;
    expect(save.disabled).toBe(true);
    await fireEvent.input(text, { target: { value: '# Context rules\n\n## Builder\n\nRead src/ and tests/.\n' } });
    expect(save.disabled).toBe(false);
    await fireEvent.keyDown(text, { key: 's', ctrlKey: true });
    await screen.findByTestId('context-message');
    expect(mock.calls.filter((c) => c.cmd === 'contextRulesSave')).toEqual([
      { cmd: 'contextRulesSave', text: '# Context rules\n\n## Builder\n\nRead src/ and tests/.\n', stamp: 's1' },
    ]);
    expect(save.disabled).toBe(true);
  });

  it('refuses in words when the file changed on disk, keeps the text, and Reload takes the disk', async () => {
    const text = await view();
    mock.rules = { text: 'edited elsewhere\n', exists: true, stamp: 's9' };
    await fireEvent.input(text, { target: { value: 'mine\n' } });
    await fireEvent.click(screen.getByTestId('context-save'));
    expect((await screen.findByTestId('context-error')).textContent).toContain('changed on disk');
    expect(text.value).toBe('mine\n');
    await fireEvent.click(screen.getByTestId('context-reload'));
    await waitFor(() => expect(text.value).toBe('edited elsewhere\n'));
  });

  it('says when the rules are the defaults not yet written, and lists and shows the packs', async () => {
    mock.rules = { text: '# Context rules\n\nRead src/ only.\n', exists: false, stamp: '' };
    mock.packs = [
      { batch: 1, phase: 'design', path: '.leapfrog/context/batch-1/design.md', bytes: 812 },
      { batch: 1, phase: 'build', path: '.leapfrog/context/batch-1/build.md', bytes: 2300 },
    ];
    mock.packTexts.set('1/build', '# Context: build of Batch 1\n');
    await view();
    expect(screen.getByTestId('context-new')).toBeTruthy();
    // Defaults not on disk yet can be saved as they are.
    expect((screen.getByTestId('context-save') as HTMLButtonElement).disabled).toBe(false);
    expect(screen.getByTestId('context-pack-1-build').textContent).toContain('2.2 KB');
    await fireEvent.click(screen.getByTestId('context-pack-1-build'));
    expect((await screen.findByTestId('context-pack-text')).textContent).toBe('# Context: build of Batch 1\n');
  });

  it('says what packs are when there is none yet, and what to do with no project', async () => {
    const { unmount } = render(Context);
    expect((await screen.findByTestId('context-no-packs')).textContent).toContain('.leapfrog/context/batch-N/<phase>.md');
    unmount();
    render(Context, { hasProject: false });
    expect(screen.getByTestId('empty-state').textContent).toContain('No project open');
  });
});
