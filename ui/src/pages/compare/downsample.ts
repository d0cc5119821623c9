/**
 * Shrink a metric series to at most `maxPoints` for a chart, keeping its shape.
 *
 * The same algorithm as the server's `clew.tracking.downsample` (used by the bulk history
 * route), so a chart looks the same whether the server or the browser thinned it: the
 * interior (all but the first and last point) is cut into equal-count buckets and each
 * bucket keeps its least and its greatest value, in x order. Unlike LTTB this never drops
 * the spike or the best value people look for on a compare chart: first and last points,
 * the global minimum and maximum, ±Infinity and (one per bucket) NaN points all survive.
 * Used only when the server has no bulk route (an older Clew answers it with 404).
 */

/** Fewer than this and there is no room for first, last and one bucket's min and max. */
export const MIN_POINTS = 4;

/** The indexes (ascending) of the points of `values` to draw, at most `maxPoints` of them. */
export function keepIndexes(values: ArrayLike<number>, maxPoints: number): number[] {
  if (maxPoints < MIN_POINTS) throw new RangeError(`maxPoints must be at least ${MIN_POINTS}`);
  const n = values.length;
  if (n <= maxPoints) return Array.from({ length: n }, (_, i) => i);
  let hasNaN = false;
  for (let i = 1; i < n - 1; i++) {
    if (Number.isNaN(values[i])) {
      hasNaN = true;
      break;
    }
  }
  const perBucket = hasNaN ? 3 : 2;
  const buckets = Math.max(1, Math.floor((maxPoints - 2) / perBucket));
  const interior = n - 2;
  const kept: number[] = [0];
  for (let b = 0; b < buckets; b++) {
    const start = 1 + Math.floor((b * interior) / buckets);
    const end = 1 + Math.floor(((b + 1) * interior) / buckets);
    let lo = -1;
    let hi = -1;
    let nan = -1;
    for (let i = start; i < end; i++) {
      const v = values[i];
      if (Number.isNaN(v)) {
        if (nan < 0) nan = i;
        continue;
      }
      if (lo < 0 || v < values[lo]) lo = i;
      if (hi < 0 || v > values[hi]) hi = i;
    }
    // A bucket of only NaN keeps its first point for min and max, as the server does.
    if (lo < 0) lo = hi = start;
    const picks = nan >= 0 ? [lo, hi, nan] : [lo, hi];
    picks.sort((a, b2) => a - b2);
    for (const p of picks) if (p !== kept[kept.length - 1]) kept.push(p);
  }
  kept.push(n - 1);
  return kept;
}

/** `xs` and `ys` thinned to at most `maxPoints` points by `keepIndexes`. */
export function downsample(
  xs: ArrayLike<number>,
  ys: ArrayLike<number>,
  maxPoints: number,
): { xs: number[]; ys: number[]; downsampled: boolean } {
  const keep = keepIndexes(ys, maxPoints);
  return {
    xs: keep.map((i) => xs[i]),
    ys: keep.map((i) => ys[i]),
    downsampled: keep.length < ys.length,
  };
}
