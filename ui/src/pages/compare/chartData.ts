/**
 * Turning series into what uPlot draws: one shared, ascending x column (uPlot's "aligned"
 * data) with a y column per series, null where a series has no point at that x (runs log at
 * different steps, and each was downsampled on its own). Non-finite values and, on a log
 * scale, values <= 0 become null, since a canvas line cannot pass through them.
 */
import { smooth } from "./smoothing";

export interface LineInput {
  xs: number[];
  ys: number[];
}

/** Points sorted by x (time-based x can come out of step order). */
export function sortedByX(line: LineInput): LineInput {
  let sorted = true;
  for (let i = 1; i < line.xs.length; i++) {
    if (line.xs[i] < line.xs[i - 1]) {
      sorted = false;
      break;
    }
  }
  if (sorted) return line;
  const order = line.xs.map((_, i) => i).sort((a, b) => line.xs[a] - line.xs[b]);
  return { xs: order.map((i) => line.xs[i]), ys: order.map((i) => line.ys[i]) };
}

export function drawable(y: number | null, log: boolean): number | null {
  if (y === null || !Number.isFinite(y)) return null;
  if (log && y <= 0) return null;
  return y;
}

/** x column plus one y column per line (the lines' x already ascending). */
export function align(lines: { xs: number[]; ys: (number | null)[] }[]): (number | null)[][] {
  const all = new Set<number>();
  for (const line of lines) for (const x of line.xs) all.add(x);
  const xs = Float64Array.from(all).sort();
  const at = new Map<number, number>();
  xs.forEach((x, i) => at.set(x, i));
  const columns: (number | null)[][] = [Array.from(xs)];
  for (const line of lines) {
    const column: (number | null)[] = new Array(xs.length).fill(null);
    line.xs.forEach((x, i) => {
      column[at.get(x)!] = line.ys[i];
    });
    columns.push(column);
  }
  return columns;
}

/** Per run: the smoothed line (and the raw one, drawn faintly, when smoothing is on). */
export function chartColumns(
  lines: LineInput[],
  smoothing: number,
  log: boolean,
): { data: (number | null)[][]; smoothed: (number | null)[][] } {
  const sorted = lines.map(sortedByX);
  const smoothed = sorted.map((l) => smooth(l.ys, smoothing));
  const drawn: { xs: number[]; ys: (number | null)[] }[] = [];
  sorted.forEach((l, i) => {
    drawn.push({ xs: l.xs, ys: smoothed[i].map((y) => drawable(y, log)) });
    if (smoothing > 0) drawn.push({ xs: l.xs, ys: l.ys.map((y) => drawable(y, log)) });
  });
  return { data: align(drawn), smoothed };
}

/** The index of the last x <= `x` in ascending `xs` (-1 when `x` is before them all). */
export function lastAtOrBefore(xs: number[], x: number): number {
  let lo = 0;
  let hi = xs.length - 1;
  let found = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (xs[mid] <= x) {
      found = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return found;
}
