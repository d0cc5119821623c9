/**
 * The metric, param and tag names a run table offers for completion and columns: the
 * experiment's keys from the server when it has the route, plus whatever the loaded runs carry
 * (the fallback, and fresher than any cache).
 */
import type { ExperimentKeys, Run } from "../../api/tracking";
import type { KnownKeys } from "./searchCompletion";

/** How many loaded runs are scanned for keys and values: enough to be useful, never slow. */
export const SCAN_LIMIT = 5000;

export function keysOfRuns(runs: readonly Run[], limit = SCAN_LIMIT): KnownKeys {
  const metrics = new Set<string>();
  const params = new Set<string>();
  const tags = new Set<string>();
  for (const run of runs.slice(0, limit)) {
    for (const m of run.data.metrics) metrics.add(m.key);
    for (const p of Object.keys(run.data.params)) params.add(p);
    for (const t of Object.keys(run.data.tags)) tags.add(t);
  }
  return { metrics: [...metrics], params: [...params], tags: [...tags] };
}

/** The union of key lists, sorted, user tags before system ones (mlflow.*, clew.*). */
export function mergeKeys(...lists: (KnownKeys | ExperimentKeys | null | undefined)[]): KnownKeys {
  const pick = (f: (k: KnownKeys) => string[]) =>
    [...new Set(lists.flatMap((k) => (k ? f(k) : [])))].sort((a, b) => systemLast(a, b));
  return { metrics: pick((k) => k.metrics), params: pick((k) => k.params), tags: pick((k) => k.tags) };
}

export function isSystemTag(key: string): boolean {
  return key.startsWith("mlflow.") || key.startsWith("clew.");
}

function systemLast(a: string, b: string): number {
  const sa = isSystemTag(a) ? 1 : 0;
  const sb = isSystemTag(b) ? 1 : 0;
  return sa - sb || a.localeCompare(b);
}

/** Distinct values of a param or tag among the loaded runs, for value completion. */
export function valuesOf(runs: readonly Run[], entity: string, key: string, max = 50): string[] {
  if (entity !== "params" && entity !== "tags") return [];
  const found = new Set<string>();
  for (const run of runs.slice(0, SCAN_LIMIT)) {
    const v = entity === "params" ? run.data.params[key] : run.data.tags[key];
    if (v !== undefined && v.length <= 200) found.add(v);
    if (found.size >= max) break;
  }
  return [...found].sort();
}
