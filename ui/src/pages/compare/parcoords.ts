/**
 * Scales and filtering for the parallel-coordinates plot: one vertical axis per param plus
 * one for the chosen metric, one polyline per run.
 *
 * Params are strings on the wire. An axis is numeric when every run that has the param gives
 * a finite number (learning rates, depths), and then it is scaled linearly between the least
 * and greatest value; otherwise it is categorical, its values ordered naturally ("2" before
 * "10", "adam" before "sgd") and spread evenly. A run without the value has no point on that
 * axis: its line breaks there rather than pretending a value.
 */

export type Axis =
  | { kind: "numeric"; key: string; min: number; max: number }
  | { kind: "categorical"; key: string; categories: string[] };

const collator = new Intl.Collator(undefined, { numeric: true, sensitivity: "base" });

function asNumber(value: string | number): number {
  if (typeof value === "number") return value;
  const trimmed = value.trim();
  return trimmed === "" ? NaN : Number(trimmed);
}

/** The axis for `key` over the values the runs have (undefined for a run without it). */
export function makeAxis(key: string, values: (string | number | undefined)[]): Axis {
  const present = values.filter((v): v is string | number => v !== undefined);
  const numbers = present.map(asNumber);
  if (present.length > 0 && numbers.every(Number.isFinite)) {
    return { kind: "numeric", key, min: Math.min(...numbers), max: Math.max(...numbers) };
  }
  const categories = [...new Set(present.map(String))].sort(collator.compare);
  return { kind: "categorical", key, categories };
}

/**
 * Where `value` sits on `axis`, 0 (bottom) to 1 (top); null when the run has no value or it
 * is not on the axis. A numeric axis whose values are all equal puts them in the middle; a
 * categorical axis with one category too.
 */
export function position(axis: Axis, value: string | number | undefined): number | null {
  if (value === undefined) return null;
  if (axis.kind === "numeric") {
    const v = asNumber(value);
    if (!Number.isFinite(v)) return null;
    if (axis.max === axis.min) return 0.5;
    return (v - axis.min) / (axis.max - axis.min);
  }
  const i = axis.categories.indexOf(String(value));
  if (i < 0) return null;
  return axis.categories.length === 1 ? 0.5 : i / (axis.categories.length - 1);
}

/** Tick labels for an axis: every category, or five evenly spaced numbers. */
export function ticks(axis: Axis, count = 5): { at: number; label: string }[] {
  if (axis.kind === "categorical") {
    return axis.categories.map((label) => ({ at: position(axis, label) ?? 0.5, label }));
  }
  if (axis.max === axis.min) return [{ at: 0.5, label: formatTick(axis.min) }];
  return Array.from({ length: count }, (_, i) => {
    const t = i / (count - 1);
    return { at: t, label: formatTick(axis.min + t * (axis.max - axis.min)) };
  });
}

function formatTick(v: number): string {
  if (Number.isInteger(v)) return String(v);
  const a = Math.abs(v);
  return a !== 0 && (a >= 1e5 || a < 1e-3) ? v.toExponential(2) : String(Number(v.toPrecision(4)));
}

/** A brushed range on one axis, in axis positions (0 bottom, 1 top), lo <= hi. */
export interface Brush {
  lo: number;
  hi: number;
}

/**
 * Whether a run passes every brush: on each brushed axis it must have a value inside the
 * range (a run without a value on a brushed axis is filtered out).
 */
export function passes(
  axes: Axis[],
  values: (string | number | undefined)[],
  brushes: Record<string, Brush>,
): boolean {
  return axes.every((axis, i) => {
    const brush = brushes[axis.key];
    if (!brush) return true;
    const p = position(axis, values[i]);
    return p !== null && p >= brush.lo - 1e-9 && p <= brush.hi + 1e-9;
  });
}

/** A brush from two drag positions, clamped to the axis. */
export function brushBetween(a: number, b: number): Brush {
  const clamp = (v: number) => Math.min(Math.max(v, 0), 1);
  return { lo: clamp(Math.min(a, b)), hi: clamp(Math.max(a, b)) };
}
