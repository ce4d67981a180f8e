import { render, screen, fireEvent, waitFor } from '@testing-library/svelte';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import Notices from './Notices.svelte';
import { setBackend } from '../lib/backend';
import { MockBackend, twoAgents } from '../test/mockBackend';
import type { AppNotice } from './types';

let mock: MockBackend;

beforeEach(() => {
  vi.useFakeTimers();
  mock = new MockBackend(twoAgents());
  setBackend(mock);
});

afterEach(() => {
  vi.useRealTimers();
});

const notice = (kind: AppNotice['kind'], title: string): AppNotice => ({ kind, title, body: `${title} body`, pane: null });
const titles = () => screen.queryAllByTestId('notice').map((n) => n.querySelector('strong')!.textContent);

async function mounted() {
  render(Notices);
  await vi.waitFor(() => expect(mock.noticeHandlers.length).toBe(1));
}

describe('notices', () => {
  it('lets news fade after a few seconds and keeps what needs the user until dismissed', async () => {
    await mounted();
    mock.notice(notice('ready_for_review', 'Batch 1 ready for review'));
    mock.notice(notice('verify_failed', 'Verify failed'));
    mock.notice(notice('needs_input', 'designer needs input'));
    await waitFor(() => expect(titles()).toEqual(['Batch 1 ready for review', 'Verify failed', 'designer needs input']));
    await vi.advanceTimersByTimeAsync(9000);
    expect(titles()).toEqual(['Verify failed', 'designer needs input']);
    await fireEvent.click(screen.getAllByLabelText('Dismiss')[0]);
    expect(titles()).toEqual(['designer needs input']);
  });

  it("retires an agent's needs-input notice once it works again, not another agent's", async () => {
    await mounted();
    await vi.waitFor(() => expect(mock.liveHandlers.length).toBe(1));
    const asks = (pane: string): AppNotice => ({ ...notice('needs_input', `${pane} needs input`), pane });
    mock.notice(asks('builder'));
    mock.notice(asks('designer'));
    mock.notice({ ...notice('review_failed', 'Review 1 failed'), pane: 'builder' });
    const status = (agent: string, s: string) =>
      mock.liveHandlers.forEach((h) => h({ kind: 'agent_status', agent, text: `${agent} ${s}`, status: s }));
    status('builder', 'needs_input');
    await waitFor(() => expect(titles()).toEqual(['builder needs input', 'designer needs input', 'Review 1 failed']));
    status('builder', 'working');
    await waitFor(() => expect(titles()).toEqual(['designer needs input', 'Review 1 failed']));
  });

  it('shows at most four, dropping the oldest', async () => {
    await mounted();
    for (let i = 1; i <= 6; i++) mock.notice(notice('review_failed', `Review ${i} failed`));
    await waitFor(() => expect(titles()).toEqual(['Review 3 failed', 'Review 4 failed', 'Review 5 failed', 'Review 6 failed']));
  });
});
