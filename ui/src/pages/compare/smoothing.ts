/**
 * Exponential moving average, the way TensorBoard smooths a scalar chart.
 *
 * `weight` in [0, 1): 0 is the raw series. The average is debiased (divided by
 * 1 - weight^n) so the first points are not dragged towards zero, which a plain EMA started
 * at 0 would do. Non-finite points (NaN, ±Infinity, null) pass through unchanged and do not
 * poison the average after them. It runs over the points the chart draws (the downsampled
 * ones), so smoothing 10 runs is 10,000 multiplications, not 100,000.
 */
export function smooth(values: ArrayLike<number | null>, weight: number): (number | null)[] {
  const w = Math.min(Math.max(weight, 0), 0.999);
  const out: (number | null)[] = new Array(values.length);
  let last = 0;
  let count = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v === null || !Number.isFinite(v)) {
      out[i] = v;
      continue;
    }
    if (w === 0) {
      out[i] = v;
      continue;
    }
    last = last * w + (1 - w) * v;
    count += 1;
    out[i] = last / (1 - Math.pow(w, count));
  }
  return out;
}
