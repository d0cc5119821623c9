/**
 * The lineage walk (GET /api/v1/lineage) and how each explorer start (`?run=`, `?model=&version=`,
 * `?artifact=`, `?dataset=`) becomes one: a model version starts at its node (its source URI),
 * or at the run that made it; a data set by its digest or URI.
 */
import { ApiError, get } from "./client";

export interface LineageNode {
  kind: "run" | "artifact";
  id: string;
  type: string;
  name: string;
  digest: string;
  uri: string;
  status: string;
}

export interface LineageEdge {
  run: string;
  artifact: string;
  type: "INPUT" | "OUTPUT";
  name: string;
}

export interface LineageGraph {
  start: string;
  nodes: LineageNode[];
  edges: LineageEdge[];
  truncated: boolean;
}

export type Direction = "upstream" | "downstream" | "both";

/** Where a walk starts: a run id, or an artifact as `sha256:DIGEST` or its URI. */
export type WalkStart = { run_id: string } | { artifact: string };

export interface WalkOptions {
  direction?: Direction;
  depth?: number;
  max_nodes?: number;
}

export const getLineage = (start: WalkStart, options: WalkOptions, signal?: AbortSignal) =>
  get<LineageGraph>("/lineage", { ...start, ...options }, signal);

interface ModelVersion {
  name: string;
  version: number | string;
  source: string;
  run_id: string | null;
}

const enc = encodeURIComponent;

/** The walk a model version starts: from its own node when the graph has one, else its run. */
export async function walkFromModelVersion(
  name: string,
  version: { version?: string; alias?: string },
  options: WalkOptions,
  signal?: AbortSignal,
): Promise<LineageGraph> {
  const path = version.alias
    ? `/registered-models/${enc(name)}/aliases/${enc(version.alias)}`
    : `/registered-models/${enc(name)}/versions/${enc(version.version ?? "")}`;
  const found = await get<ModelVersion | { model_version: ModelVersion }>(path, undefined, signal);
  const mv = "model_version" in found ? found.model_version : found;
  if (mv.source) {
    try {
      return await getLineage({ artifact: mv.source }, options, signal);
    } catch (error) {
      if (!(error instanceof ApiError) || error.status !== 404 || !mv.run_id) throw error;
    }
  }
  if (!mv.run_id) throw new ApiError(404, "NOT_FOUND", "This model version has no run to start from");
  return getLineage({ run_id: mv.run_id }, options, signal);
}

/** `?dataset=`: a digest (with or without `sha256:`) or the data set's URI. */
export function datasetStart(value: string): WalkStart {
  const bare = value.startsWith("sha256:") ? value.slice(7) : value;
  return /^[0-9a-f]{12,64}$/.test(bare) ? { artifact: `sha256:${bare}` } : { artifact: value };
}

/** How to walk on from a node already in the graph (its expand control). */
export function startOf(node: LineageNode): WalkStart {
  if (node.kind === "run") return { run_id: node.id };
  if (node.uri) return { artifact: node.uri };
  return { artifact: `sha256:${node.digest}` };
}
