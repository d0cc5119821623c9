/** Tracking shapes and calls, as /api/v1 answers them (see docs/api.md). */
import { ApiError, artifactUrl, get, post } from "./client";

export interface Experiment {
  experiment_id: string;
  name: string;
  artifact_location: string;
  lifecycle_stage: string;
  creation_time: number;
  last_update_time: number;
  tags: Record<string, string>;
}

export interface Metric {
  key: string;
  value: number | string;
  timestamp: number;
  step: number;
}

export interface RunInfo {
  run_id: string;
  experiment_id: string;
  run_name: string;
  user_id: string;
  status: string;
  start_time: number;
  end_time: number | null;
  artifact_uri: string;
  lifecycle_stage: string;
  parent_run_id: string | null;
}

export interface DatasetInput {
  dataset: {
    name: string;
    digest: string;
    source_type: string;
    source: string;
    schema: string;
    profile: string;
  };
  tags: Record<string, string>;
}

export interface Run {
  info: RunInfo;
  data: { params: Record<string, string>; metrics: Metric[]; tags: Record<string, string> };
  inputs: DatasetInput[];
  outputs?: { model_id: string; step: number }[];
  model_inputs?: { model_id: string }[];
}

export interface SearchBody {
  filter?: string;
  order_by?: string[];
  max_results?: number;
  page_token?: string | null;
  view_type?: "ACTIVE_ONLY" | "DELETED_ONLY" | "ALL";
}

export const searchExperiments = (body: SearchBody, signal?: AbortSignal) =>
  post<{ experiments: Experiment[]; next_page_token: string | null }>(
    "/experiments/search",
    body,
    signal,
  );

export const getExperiment = (id: string, signal?: AbortSignal) =>
  get<Experiment>(`/experiments/${encodeURIComponent(id)}`, undefined, signal);

export const searchRuns = (
  body: SearchBody & { experiment_ids?: string[] | null },
  signal?: AbortSignal,
) => post<{ runs: Run[]; next_page_token: string | null }>("/runs/search", body, signal);

export const getRun = (id: string, signal?: AbortSignal) =>
  get<Run>(`/runs/${encodeURIComponent(id)}`, undefined, signal);

// ---- optional routes --------------------------------------------------------------------------

let routes: Promise<Set<string>> | null = null;

/**
 * Whether this server has a route ("POST /api/v1/runs/count"), read once from its OpenAPI
 * document. Newer routes are asked for only when present: a 404 would be a console error and
 * a wasted round trip on every page.
 */
export async function hasRoute(method: string, path: string): Promise<boolean> {
  routes ??= get<{ paths: Record<string, Record<string, unknown>> }>("/openapi.json")
    .then((doc) => {
      const found = new Set<string>();
      for (const [p, ops] of Object.entries(doc.paths ?? {}))
        for (const m of Object.keys(ops)) found.add(`${m.toUpperCase()} ${p}`);
      return found;
    })
    .catch(() => new Set<string>());
  return (await routes).has(`${method.toUpperCase()} /api/v1${path}`);
}

/** A missing route answers 404 ENDPOINT_NOT_FOUND (or 405 where a GET shares the path). */
function missingRoute(error: unknown): boolean {
  return error instanceof ApiError && (error.code === "ENDPOINT_NOT_FOUND" || error.status === 405);
}

// ---- runs: counts, keys, metric history -------------------------------------------------------

export type RunSearchBody = SearchBody & { experiment_ids?: string[] | null };

/** How many runs a search matches; null when this server has no count route. */
export async function countRuns(body: RunSearchBody, signal?: AbortSignal): Promise<number | null> {
  if (!(await hasRoute("POST", "/runs/count"))) return null;
  try {
    const { count } = await post<{ count: number }>("/runs/count", body, signal);
    return count;
  } catch (error) {
    if (missingRoute(error)) return null;
    throw error;
  }
}

export interface ExperimentKeys {
  metrics: string[];
  params: string[];
  tags: string[];
  /** Dataset names. */
  datasets?: string[];
  truncated: boolean;
}

/** The keys of the runs of several experiments at once; null when the route is missing. */
export async function runKeys(experimentIds: string[], signal?: AbortSignal): Promise<ExperimentKeys | null> {
  if (!(await hasRoute("POST", "/runs/keys"))) return null;
  try {
    return await post<ExperimentKeys>("/runs/keys", { experiment_ids: experimentIds }, signal);
  } catch (error) {
    if (missingRoute(error)) return null;
    throw error;
  }
}

/** The metric, param and tag names used in an experiment; null when the route is missing. */
export async function experimentKeys(id: string, signal?: AbortSignal): Promise<ExperimentKeys | null> {
  if (!(await hasRoute("GET", "/experiments/{experiment_id}/keys"))) return null;
  try {
    return await get<ExperimentKeys>(`/experiments/${encodeURIComponent(id)}/keys`, undefined, signal);
  } catch (error) {
    if (missingRoute(error)) return null;
    throw error;
  }
}

export interface MetricHistory {
  key: string;
  steps: number[];
  timestamps: number[];
  values: (number | string)[];
}

/** A metric's history; a long one is downsampled by the server to about `maxPoints` (min/max kept). */
export const getMetricHistory = (runId: string, key: string, maxPoints = 2000, signal?: AbortSignal) =>
  get<MetricHistory>(`/runs/${encodeURIComponent(runId)}/metrics/history`, { key, max_points: maxPoints }, signal);

// ---- artifacts -------------------------------------------------------------------------------

export interface ArtifactFile {
  path: string;
  is_dir: boolean;
  size: number | null;
  digest: string | null;
}

/** The direct children of `path` in a run's artifact tree. */
export const listArtifacts = (runId: string, path: string, signal?: AbortSignal) =>
  get<{ files: ArtifactFile[] }>(`/runs/${encodeURIComponent(runId)}/artifacts`, { path: path || undefined }, signal).then(
    (r) => r.files,
  );

export interface TablePreview {
  format?: string;
  columns: string[];
  rows: unknown[][];
  total_rows: number | null;
  truncated: boolean;
}

/**
 * The first rows of a CSV/TSV/Parquet/JSON table artifact, parsed by the server; null without
 * the route or when the server cannot read the file as a table (PREVIEW_UNSUPPORTED).
 */
export async function artifactTablePreview(
  runId: string,
  path: string,
  rows: number,
  signal?: AbortSignal,
): Promise<TablePreview | null> {
  if (!(await hasRoute("GET", "/runs/{run_id}/artifacts-preview/{path}"))) return null;
  const encoded = path.split("/").map(encodeURIComponent).join("/");
  try {
    return await get<TablePreview>(`/runs/${encodeURIComponent(runId)}/artifacts-preview/${encoded}`, { rows }, signal);
  } catch (error) {
    if (missingRoute(error) || (error instanceof ApiError && error.code === "PREVIEW_UNSUPPORTED")) return null;
    throw error;
  }
}

/**
 * The first `limit` bytes of an artifact (it may be large: the rest is never downloaded).
 * `truncated` says whether more followed.
 */
export async function artifactHead(
  runId: string,
  path: string,
  limit: number,
  signal?: AbortSignal,
): Promise<{ bytes: Uint8Array; truncated: boolean }> {
  const response = await fetch(artifactUrl(runId, path), { credentials: "same-origin", signal });
  if (!response.ok || !response.body) {
    let code = `HTTP_${response.status}`;
    let message = response.statusText || "Download failed";
    try {
      const body = await response.json();
      code = body?.error?.code ?? body?.error_code ?? code;
      message = body?.error?.message ?? body?.message ?? message;
    } catch {
      // not JSON
    }
    throw new ApiError(response.status, code, message);
  }
  const reader = response.body.getReader();
  const parts: Uint8Array[] = [];
  let total = 0;
  let truncated = false;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    parts.push(value);
    total += value.length;
    if (total > limit) {
      truncated = true;
      await reader.cancel();
      break;
    }
  }
  const bytes = new Uint8Array(Math.min(total, limit));
  let offset = 0;
  for (const part of parts) {
    const take = Math.min(part.length, bytes.length - offset);
    bytes.set(part.subarray(0, take), offset);
    offset += take;
    if (offset >= bytes.length) break;
  }
  return { bytes, truncated };
}
