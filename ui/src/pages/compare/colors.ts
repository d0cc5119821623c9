/**
 * One colour per run, fixed by the run's place in the URL's `runs=` list, so every chart,
 * the legend, the parallel-coordinates plot and the diff table's column headers agree, and a
 * shared link shows the same colours. Twelve hues that stay apart on light and dark
 * backgrounds; past twelve runs they repeat with a dashed line.
 */
export const PALETTE = [
  "#1f77b4",
  "#e6550d",
  "#2ca02c",
  "#d62728",
  "#9467bd",
  "#8c564b",
  "#e377c2",
  "#17becf",
  "#bcbd22",
  "#7f7f7f",
  "#3182bd",
  "#fd8d3c",
] as const;

export function runColor(index: number): string {
  return PALETTE[((index % PALETTE.length) + PALETTE.length) % PALETTE.length];
}

export function runDash(index: number): number[] | undefined {
  return index >= PALETTE.length ? [6, 3] : undefined;
}

/** A colour on a blue→red ramp for `t` in [0, 1] (parallel coordinates: low→high metric). */
export function rampColor(t: number): string {
  const c = Math.min(Math.max(Number.isFinite(t) ? t : 0, 0), 1);
  const from = [49, 130, 189];
  const mid = [160, 160, 160];
  const to = [222, 45, 38];
  const [a, b, u] = c < 0.5 ? [from, mid, c * 2] : [mid, to, (c - 0.5) * 2];
  const mix = a.map((v, i) => Math.round(v + (b[i] - v) * u));
  return `rgb(${mix[0]}, ${mix[1]}, ${mix[2]})`;
}
