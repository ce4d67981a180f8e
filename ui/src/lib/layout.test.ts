import { describe, expect, it } from 'vitest';
import { dragBoundary, evenWeights, MIN_FRACTION } from './layout';

const round = (w: number[]) => w.map((x) => Math.round(x * 1000) / 1000);

describe('dragBoundary', () => {
  it.each([
    // weights, boundary, delta px, width px, expected
    [[0.5, 0.5], 0, 100, 1000, [0.6, 0.4]],
    [[0.5, 0.5], 0, -100, 1000, [0.4, 0.6]],
    [[0.5, 0.5], 0, 1000, 1000, [1 - MIN_FRACTION, MIN_FRACTION]],
    [[0.5, 0.5], 0, -1000, 1000, [MIN_FRACTION, 1 - MIN_FRACTION]],
    [[0.2, 0.3, 0.5], 1, 100, 1000, [0.2, 0.4, 0.4]],
    [[0.5, 0.5], 1, 100, 1000, [0.5, 0.5]],
    [[0.5, 0.5], 0, 100, 0, [0.5, 0.5]],
  ])('%j at %i by %ipx of %ipx', (weights, i, delta, total, want) => {
    expect(round(dragBoundary(weights, i, delta, total))).toEqual(round(want));
  });

  it('keeps the sum', () => {
    const w = dragBoundary(evenWeights(3), 0, 37, 777);
    expect(w.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 10);
  });
});
