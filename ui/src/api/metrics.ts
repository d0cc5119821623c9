/**
 * Metric histories for charts, thinned to what a chart can show.
 *
 * The server's `POST /metrics/history-bulk` returns many (run, key) series in one call, each
 * downsampled on the server (min/max per bucket), so 10 runs of 10,000 steps travel as 10,000
 * points, not 100,000. A server without that route (an older Clew answers 404) gets one
 * `GET /runs/{id}/metrics/history` per series and the browser thins each with the same
 * algorithm (pages/compare/downsample.ts); the page cannot tell the two apart.
 *
 * x is returned in chart units: the step; seconds since the series' first point ("time", as
 * the server defines it); or Unix seconds ("wall", which uPlot's time axis reads).
 */
import { ApiError, get, post } from "./client";
import { downsample } from "../pages/compare/downsample";

export type XMode = "step" | "time" | "wall";

export interface Series {
  runId: string;
  key: string;
  xs: number[];
  ys: number[]; // NaN and ±Infinity as numbers
  totalPoints: number;
  downsampled: boolean;
}

/** The wire shape of GET /runs/{id}/metrics/history. */
interface HistoryOut {
  key: string;
  steps: number[];
  timestamps: number[];
  values: (number | string)[];
}

/** The wire shape of POST /metrics/history-bulk. */
interface BulkOut {
  series: {
    run_id: string;
    key: string;
    points: [number, number | string][];
    total_points: number;
    downsampled: boolean;
  }[];
}

export const MAX_BULK_RUNS = 100;
export const MAX_BULK_KEYS = 20;
export const DEFAULT_MAX_POINTS = 1000;

/** "NaN", "Infinity", "-Infinity" (JSON has none of them) back to numbers. */
export function toNumber(value: number | string): number {
  return typeof value === "number" ? value : Number(value);
}

let bulkMissing = false; // remembered per page load: a 404 once means no bulk route here

/** Requests started before the charts mounted (see prefetchSeries), by what they ask. */
const early = new Map<string, Promise<{ series: Series[]; via: "bulk" | "history" }>>();
const earlyKey = (runIds: string[], keys: string[], x: XMode, maxPoints: number) =>
  JSON.stringify([runIds, keys, x, maxPoints]);

/**
 * Start loading series as soon as the runs are known, before the page has rendered the
 * charts that will ask for them; the chart's own `loadSeries` call then takes this request
 * over instead of sending another (a render of a long diff table is time the network can use).
 */
export function prefetchSeries(runIds: string[], keys: string[], x: XMode, maxPoints = DEFAULT_MAX_POINTS): void {
  if (runIds.length === 0 || keys.length === 0) return;
  const key = earlyKey(runIds, keys, x, maxPoints);
  early.clear(); // only the newest view's request is kept
  const started = loadSeries(runIds, keys, x, maxPoints);
  started.catch(() => undefined); // the taker sees the error; an untaken one is dropped
  early.set(key, started);
}

/** A server that has no bulk route: 404 ENDPOINT_NOT_FOUND (not a missing run), or 405. */
function noBulkRoute(error: unknown): boolean {
  if (!(error instanceof ApiError)) return false;
  return error.status === 405 || (error.status === 404 && error.code !== "RESOURCE_DOES_NOT_EXIST");
}

/**
 * Every (run, key) series for `runs` × `keys`, at most `maxPoints` points each. Series a run
 * never logged are left out.
 */
export async function loadSeries(
  runIds: string[],
  keys: string[],
  x: XMode,
  maxPoints = DEFAULT_MAX_POINTS,
  signal?: AbortSignal,
): Promise<{ series: Series[]; via: "bulk" | "history" }> {
  if (runIds.length === 0 || keys.length === 0) return { series: [], via: bulkMissing ? "history" : "bulk" };
  const started = early.get(earlyKey(runIds, keys, x, maxPoints));
  if (started) {
    early.delete(earlyKey(runIds, keys, x, maxPoints));
    return started;
  }
  if (!bulkMissing) {
    try {
      return { series: await loadBulk(runIds, keys, x, maxPoints, signal), via: "bulk" };
    } catch (error) {
      if (!noBulkRoute(error)) throw error;
      bulkMissing = true;
    }
  }
  return { series: await loadEach(runIds, keys, x, maxPoints, signal), via: "history" };
}

async function loadBulk(
  runIds: string[],
  keys: string[],
  x: XMode,
  maxPoints: number,
  signal?: AbortSignal,
): Promise<Series[]> {
  const calls: Promise<BulkOut>[] = [];
  for (let r = 0; r < runIds.length; r += MAX_BULK_RUNS) {
    for (let k = 0; k < keys.length; k += MAX_BULK_KEYS) {
      calls.push(
        post<BulkOut>(
          "/metrics/history-bulk",
          {
            run_ids: runIds.slice(r, r + MAX_BULK_RUNS),
            keys: keys.slice(k, k + MAX_BULK_KEYS),
            max_points: maxPoints,
            x,
          },
          signal,
        ),
      );
    }
  }
  const answers = await Promise.all(calls);
  return answers.flatMap((answer) =>
    answer.series
      .filter((s) => s.points.length > 0)
      .map((s) => ({
        runId: s.run_id,
        key: s.key,
        // The route gives steps, or milliseconds (since the first point, or since the epoch).
        xs: x === "step" ? s.points.map((p) => p[0]) : s.points.map((p) => p[0] / 1000),
        ys: s.points.map((p) => toNumber(p[1])),
        totalPoints: s.total_points,
        downsampled: s.downsampled,
      })),
  );
}

async function loadEach(
  runIds: string[],
  keys: string[],
  x: XMode,
  maxPoints: number,
  signal?: AbortSignal,
): Promise<Series[]> {
  const jobs = runIds.flatMap((runId) => keys.map((key) => ({ runId, key })));
  const out: (Series | null)[] = new Array(jobs.length).fill(null);
  let next = 0;
  const worker = async () => {
    while (next < jobs.length) {
      const i = next++;
      const { runId, key } = jobs[i];
      let history: HistoryOut;
      try {
        history = await get<HistoryOut>(
          `/runs/${encodeURIComponent(runId)}/metrics/history`,
          { key },
          signal,
        );
      } catch (error) {
        if (error instanceof ApiError && error.status === 404) continue;
        throw error;
      }
      if (history.steps.length === 0) continue;
      const first = history.timestamps.reduce((a, b) => (b < a ? b : a), Infinity);
      const xs =
        x === "step"
          ? history.steps
          : x === "time"
            ? history.timestamps.map((t) => (t - first) / 1000)
            : history.timestamps.map((t) => t / 1000);
      const thin = downsample(xs, history.values.map(toNumber), maxPoints);
      out[i] = {
        runId,
        key,
        xs: thin.xs,
        ys: thin.ys,
        totalPoints: history.steps.length,
        downsampled: thin.downsampled,
      };
    }
  };
  await Promise.all(Array.from({ length: Math.min(6, jobs.length) }, worker));
  return out.filter((s): s is Series => s !== null);
}
