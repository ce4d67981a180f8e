// Pane sizes as weights (fractions summing to 1), changed by splitter drags. Pure, so it is tested alone.

export const MIN_FRACTION = 0.12;

export function evenWeights(n: number): number[] {
  return Array.from({ length: n }, () => 1 / n);
}

/**
 * Moves the boundary between pane `i` and pane `i + 1` by `deltaPx` of a `totalPx`-wide row,
 * keeping both panes at least MIN_FRACTION (or their current size, if already smaller).
 */
export function dragBoundary(weights: number[], i: number, deltaPx: number, totalPx: number): number[] {
  if (i < 0 || i + 1 >= weights.length || totalPx <= 0) return weights;
  const pair = weights[i] + weights[i + 1];
  const min = Math.min(MIN_FRACTION, pair / 2);
  const left = clamp(weights[i] + deltaPx / totalPx, min, pair - min);
  const next = weights.slice();
  next[i] = left;
  next[i + 1] = pair - left;
  return next;
}

export function clamp(v: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, v));
}
