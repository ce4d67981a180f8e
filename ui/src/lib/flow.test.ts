import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ACK_BATCH_BYTES, ACK_LINGER_MS, AckBatcher, binaryStringToBytes } from './flow';

describe('AckBatcher', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('sends at once when a batch is full', () => {
    const sent: number[] = [];
    const acks = new AckBatcher((n) => sent.push(n));
    acks.rendered(ACK_BATCH_BYTES - 1);
    expect(sent).toEqual([]);
    acks.rendered(1);
    expect(sent).toEqual([ACK_BATCH_BYTES]);
    expect(acks.acked).toBe(ACK_BATCH_BYTES);
  });

  it('sends a partial batch after the linger', () => {
    const sent: number[] = [];
    const acks = new AckBatcher((n) => sent.push(n));
    acks.rendered(10);
    acks.rendered(5);
    vi.advanceTimersByTime(ACK_LINGER_MS - 1);
    expect(sent).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(sent).toEqual([15]);
    vi.advanceTimersByTime(ACK_LINGER_MS * 3);
    expect(sent).toEqual([15]);
  });

  it('flushes what is pending on dispose', () => {
    const sent: number[] = [];
    const acks = new AckBatcher((n) => sent.push(n));
    acks.rendered(7);
    acks.dispose();
    expect(sent).toEqual([7]);
  });
});

describe('binaryStringToBytes', () => {
  it.each([
    ['', []],
    ['\x1b[M !', [0x1b, 0x5b, 0x4d, 0x20, 0x21]],
    ['\xff\x80', [0xff, 0x80]],
  ])('%j', (input, bytes) => {
    expect(Array.from(binaryStringToBytes(input))).toEqual(bytes);
  });
});
