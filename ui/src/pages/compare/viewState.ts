/**
 * The compare page's state, read from and written to the URL so a link shows the same view:
 * `runs=<id>,<id>` (the form the run table links with), `metric=<key>` repeated (keys may
 * hold commas), `x=step|time|wall`, `smooth=<0..0.99>`, `log=1`, `pc=<metric key>` for the
 * parallel-coordinates colour metric and `diff=all` to show unchanged rows too.
 */

export type XAxis = "step" | "time" | "wall";

export interface ViewState {
  runs: string[];
  metrics: string[] | null; // null: the default (the keys the runs share)
  x: XAxis;
  smoothing: number;
  log: boolean;
  pcMetric: string | null;
  onlyDifferences: boolean;
}

const RUN_ID = /^[0-9a-f]{32}$/;
export const MAX_RUNS = 100;

export function readState(params: URLSearchParams): ViewState {
  const runs = (params.get("runs") ?? "")
    .split(",")
    .map((s) => s.trim())
    .filter((s) => RUN_ID.test(s));
  const x = params.get("x");
  const smooth = Number(params.get("smooth") ?? "0");
  const metrics = params.getAll("metric");
  return {
    runs: [...new Set(runs)].slice(0, MAX_RUNS),
    metrics: params.has("metric") ? metrics.filter((m) => m !== "") : null,
    x: x === "time" || x === "wall" ? x : "step",
    smoothing: Number.isFinite(smooth) ? Math.min(Math.max(smooth, 0), 0.99) : 0,
    log: params.get("log") === "1",
    pcMetric: params.get("pc") || null,
    onlyDifferences: params.get("diff") !== "all",
  };
}

export function writeState(state: ViewState): URLSearchParams {
  const params = new URLSearchParams();
  params.set("runs", state.runs.join(","));
  if (state.metrics !== null) {
    if (state.metrics.length === 0) params.append("metric", "");
    for (const m of state.metrics) params.append("metric", m);
  }
  if (state.x !== "step") params.set("x", state.x);
  if (state.smoothing > 0) params.set("smooth", String(Number(state.smoothing.toFixed(2))));
  if (state.log) params.set("log", "1");
  if (state.pcMetric) params.set("pc", state.pcMetric);
  if (!state.onlyDifferences) params.set("diff", "all");
  return params;
}

/**
 * The query string (without "?") for `state`. Commas stay as they are, so the run list reads
 * `runs=<id>,<id>` like the run table's links; a comma inside a metric key is safe too, since
 * only `runs` is split on commas.
 */
export function formatState(state: ViewState): string {
  return writeState(state).toString().replace(/%2C/gi, ",");
}

/** The keys every run has (the default charts), in a natural order. */
export function sharedKeys(keysPerRun: string[][]): string[] {
  if (keysPerRun.length === 0) return [];
  const collator = new Intl.Collator(undefined, { numeric: true });
  const [first, ...rest] = keysPerRun;
  const shared = first.filter((k) => rest.every((keys) => keys.includes(k)));
  return [...new Set(shared)].sort(collator.compare);
}
