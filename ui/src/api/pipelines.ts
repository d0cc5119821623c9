/**
 * Pipeline shapes and calls, as /api/v1 answers them (docs/api.md: pipeline runs, jobs and
 * schedules). A pipeline run is a tracked run tagged `clew.pipeline`; its step runs are tracked
 * runs tagged `clew.pipeline.run` with it, so both are found with the run search.
 */
import { API, ApiError, artifactUrl, del, get, patch, post } from "./client";
import { searchRuns, type Run } from "./tracking";

export const PIPELINE_TAG = "clew.pipeline";
export const PIPELINE_RUN_TAG = "clew.pipeline.run";
export const STEP_TAG = "clew.pipeline.step";
export const STATE_TAG = "clew.pipeline.state";
export const CACHED_FROM_TAG = "clew.pipeline.cached_from";
export const REASON_TAG = "clew.pipeline.reason";
export const OUTPUT_TAG = "clew.output.";

// ---- the definition's JSON (serialize.to_dict) -------------------------------------------------

export type Source =
  | { constant: unknown }
  | { param: string }
  | { task: string; output: string }
  | { loop_item: string }
  | { collect: { task: string; output: string } }
  | { pipeline_status: true };

export type Condition =
  | { op: string; left: Source; right: Source }
  | { not: Condition }
  | { all: Condition[] }
  | { any: Condition[] };

export interface TaskJson {
  name: string;
  inputs: Record<string, Source>;
  outputs: string[];
  options?: Record<string, unknown>;
  step?: string;
  pipeline?: PipelineJson;
  when?: Condition;
  loops?: { id: string; items: Source; parallelism: number }[];
  after?: string[];
  finally?: boolean;
}

export interface ParamJson {
  name: string;
  type: string | null;
  default?: unknown;
}

export interface PipelineJson {
  name: string;
  description?: string | null;
  params: ParamJson[];
  tasks: TaskJson[];
  outputs: Record<string, Source>;
}

// ---- records ----------------------------------------------------------------------------------

export interface PipelineVersion {
  pipeline: string;
  digest: string;
  created_at: number;
  created_by: string;
  spec?: PipelineJson;
}

export interface PipelineRunInfo {
  pipeline: string;
  run_id: string;
  state: string;
  digest: string;
  heartbeat_at: number | null;
  heartbeat_s: number | null;
  engine_lost: boolean;
}

export interface Job {
  id: string;
  pipeline: string;
  digest: string;
  params: Record<string, unknown>;
  options: Record<string, unknown>;
  state: string;
  message: string;
  requested_by: string;
  created_at: number;
  started_at: number | null;
  ended_at: number | null;
  worker: string | null;
  run_id: string | null;
  resume_from: string | null;
  schedule_id: string | null;
  fire_at: number | null;
  cancel_requested: boolean;
}

export interface JobStep {
  step: string;
  task: string;
  run_id: string;
  status: string;
  state: string;
  start_time: number | null;
  end_time: number | null;
}

export interface Schedule {
  id: string;
  name: string;
  pipeline: string;
  digest: string | null;
  params: Record<string, unknown>;
  options: Record<string, unknown>;
  cron: string | null;
  interval_s: number | null;
  catchup: boolean;
  max_concurrency: number;
  enabled: boolean;
  next_fire_at: number;
  last_fire_at: number | null;
  created_by: string;
  created_at: number;
  updated_at: number;
}

export interface StepEdge {
  run_id: string;
  type: "INPUT" | "OUTPUT";
  name: string;
  node_id: number;
  digest: string;
}

export const JOB_TERMINAL = ["SUCCEEDED", "FAILED", "CANCELED"];

// ---- calls ------------------------------------------------------------------------------------

const enc = encodeURIComponent;

export const listVersions = (pipeline?: string, signal?: AbortSignal) =>
  get<{ versions: PipelineVersion[] }>("/pipelines/versions", { pipeline, limit: 200 }, signal);

export const getVersion = (digest: string, signal?: AbortSignal) =>
  get<PipelineVersion>(`/pipelines/versions/${enc(digest)}`, undefined, signal);

export const listJobs = (query: { pipeline?: string; limit?: number } = {}, signal?: AbortSignal) =>
  get<{ jobs: Job[]; next_page_token: string | null }>(
    "/pipeline-jobs",
    { limit: 100, ...query },
    signal,
  );

export interface SubmitJob {
  pipeline: string;
  digest?: string;
  params?: Record<string, unknown>;
  cache?: boolean;
  executor?: string;
}

export const submitJob = (body: SubmitJob) => post<Job>("/pipeline-jobs", body);
export const cancelJob = (id: string) => post<Job>(`/pipeline-jobs/${enc(id)}/cancel`);
export const resumeJob = (id: string) => post<Job>(`/pipeline-jobs/${enc(id)}/resume`);
export const jobSteps = (id: string, signal?: AbortSignal) =>
  get<{ steps: JobStep[] }>(`/pipeline-jobs/${enc(id)}/steps`, undefined, signal);

/** What a job's step printed, as text (the route answers text/plain). */
export async function stepLog(jobId: string, step: string, signal?: AbortSignal): Promise<string> {
  const response = await fetch(`${API}/pipeline-jobs/${enc(jobId)}/steps/${enc(step)}/log`, {
    credentials: "same-origin",
    headers: { accept: "text/plain, application/json" },
    signal,
  });
  if (!response.ok) {
    let code = `HTTP_${response.status}`;
    let message = response.statusText;
    try {
      const body = await response.json();
      code = body?.error?.code ?? code;
      message = body?.error?.message ?? message;
    } catch {
      // not JSON
    }
    throw new ApiError(response.status, code, message);
  }
  return response.text();
}

export interface CreateSchedule {
  name: string;
  pipeline: string;
  cron?: string;
  interval_s?: number;
  digest?: string;
  params?: Record<string, unknown>;
  cache?: boolean;
  max_concurrency?: number;
  catchup?: boolean;
  enabled?: boolean;
}

export const listSchedules = (signal?: AbortSignal) =>
  get<{ schedules: Schedule[] }>("/pipeline-schedules", undefined, signal);
export const createSchedule = (body: CreateSchedule) => post<Schedule>("/pipeline-schedules", body);
export const setScheduleEnabled = (name: string, enabled: boolean) =>
  patch<Schedule>(`/pipeline-schedules/${enc(name)}`, { enabled });
export const deleteSchedule = (name: string) => del<void>(`/pipeline-schedules/${enc(name)}`);

export const getPipelineRun = (runId: string, signal?: AbortSignal) =>
  get<PipelineRunInfo>(`/pipeline-runs/${enc(runId)}`, undefined, signal);

export async function stepEdges(
  runId: string,
  stepRunIds: string[],
  signal?: AbortSignal,
): Promise<StepEdge[]> {
  if (stepRunIds.length === 0) return [];
  const found = await get<{ edges: StepEdge[] }>(
    `/pipeline-runs/${enc(runId)}/edges`,
    { step_run_id: stepRunIds },
    signal,
  );
  return found.edges;
}

/** A quoted string literal for the run search's filter. */
export function quoted(value: string): string {
  return `'${value.replace(/\\/g, "\\\\").replace(/'/g, "\\'")}'`;
}

/** Pipeline runs (the runs tagged `clew.pipeline`), newest first. */
export async function searchPipelineRuns(
  pipeline: string | undefined,
  maxResults: number,
  signal?: AbortSignal,
): Promise<Run[]> {
  const filter =
    pipeline === undefined
      ? `tags."${PIPELINE_TAG}" IS NOT NULL`
      : `tags."${PIPELINE_TAG}" = ${quoted(pipeline)}`;
  const found = await searchRuns(
    { filter, max_results: maxResults, order_by: ["attributes.start_time DESC"] },
    signal,
  );
  return found.runs;
}

/** Every step run of a pipeline run (all pages). */
export async function stepRuns(runId: string, signal?: AbortSignal): Promise<Run[]> {
  const runs: Run[] = [];
  let token: string | null = null;
  do {
    const page = await searchRuns(
      {
        filter: `tags."${PIPELINE_RUN_TAG}" = ${quoted(runId)}`,
        max_results: 1000,
        page_token: token,
      },
      signal,
    );
    runs.push(...page.runs);
    token = page.next_page_token;
  } while (token && runs.length < 20_000);
  return runs;
}

/** The definition a pipeline run ran: its `pipeline.json` artifact. */
export async function runDefinition(runId: string, signal?: AbortSignal): Promise<PipelineJson> {
  const response = await fetch(artifactUrl(runId, "pipeline.json"), {
    credentials: "same-origin",
    signal,
  });
  if (!response.ok) throw new ApiError(response.status, `HTTP_${response.status}`, "No pipeline.json");
  return (await response.json()) as PipelineJson;
}

/** The job that ran this pipeline run on the server, if one did. */
export async function jobOfRun(
  pipeline: string,
  runId: string,
  signal?: AbortSignal,
): Promise<Job | undefined> {
  const { jobs } = await listJobs({ pipeline, limit: 1000 }, signal);
  return jobs.find((j) => j.run_id === runId);
}
