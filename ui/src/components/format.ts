/** Formatting shared by every page, so numbers and times read the same everywhere. */

export function formatTime(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return "";
  return new Date(ms).toLocaleString();
}

export function formatDuration(startMs?: number | null, endMs?: number | null): string {
  if (!startMs || !endMs) return "";
  const s = (endMs - startMs) / 1000;
  if (s < 1) return `${Math.round(s * 1000)} ms`;
  if (s < 90) return `${s.toFixed(1)} s`;
  if (s < 5400) return `${(s / 60).toFixed(1)} min`;
  return `${(s / 3600).toFixed(1)} h`;
}

export function formatValue(value: unknown): string {
  if (value === null || value === undefined) return "";
  if (typeof value === "number") {
    if (Number.isInteger(value)) return String(value);
    return Math.abs(value) >= 1e5 || Math.abs(value) < 1e-3 ? value.toExponential(4) : value.toPrecision(5);
  }
  return String(value);
}
