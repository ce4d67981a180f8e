import { render, screen, waitFor } from '@testing-library/svelte';
import { beforeEach, describe, expect, it } from 'vitest';
import LogsPane from './LogsPane.svelte';
import { setBackend } from '../lib/backend';
import { MockBackend, twoAgents } from '../test/mockBackend';

let mock: MockBackend;
beforeEach(() => {
  mock = new MockBackend(twoAgents());
  setBackend(mock);
});

describe('LogsPane', () => {
  it('keeps only the newest lines past its limit', async () => {
    render(LogsPane, { limit: 3 });
    await waitFor(() => expect(mock.logHandlers).toHaveLength(1));
    for (let i = 0; i < 5; i++) mock.log(i, `line ${i}`);
    const logs = screen.getByTestId('logs');
    await waitFor(() =>
      expect(Array.from(logs.querySelectorAll('li .message')).map((e) => e.textContent)).toEqual([
        'line 2',
        'line 3',
        'line 4',
      ]),
    );
    expect(logs.querySelector('.count')!.textContent).toBe('3');
  });
});
