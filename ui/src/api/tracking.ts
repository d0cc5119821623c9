/** Tracking shapes and calls, as /api/v1 answers them (see docs/api.md). */
import { get, post } from "./client";

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
