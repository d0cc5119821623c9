/**
 * The model registry and its governance over the public REST API: registered models, their
 * versions, files, aliases with their history, policies, promotion requests and the compliance
 * report. Shapes follow docs/api.md ("Model registry", "Policies and promotion requests").
 */
import { API, ApiError, get, post, put } from "./client";

export interface ModelVersion {
  name: string;
  version: number;
  creation_timestamp: number;
  last_updated_timestamp: number;
  user_id: string;
  current_stage: string;
  description: string;
  source: string;
  run_id: string | null;
  status: string;
  status_message: string;
  logged_model_id: string | null;
  digest: string | null;
  tags: Record<string, string>;
  aliases: string[];
}

export interface RegisteredModel {
  name: string;
  creation_timestamp: number;
  last_updated_timestamp: number;
  user_id: string;
  description: string;
  tags: Record<string, string>;
  aliases: Record<string, number>;
  latest_versions: ModelVersion[];
}

export interface VersionFile {
  path: string;
  digest: string;
  size: number;
}

export interface Verification {
  name: string;
  version: number;
  ok: boolean;
  checked: number;
  mismatched: string[];
  missing: string[];
  tree_ok: boolean;
}

/** One alias move or stage change, from the audit log (``alias`` is "" for a stage change). */
export interface AliasMove {
  seq: number;
  time: number;
  actor: string;
  action: string;
  alias: string;
  version: number | null;
  previous: number | null;
  stage: string;
}

export interface AliasHistory {
  name: string;
  alias: string | null;
  at: number | null;
  version_at: number | null;
  aliases_at: Record<string, number>;
  moves: AliasMove[];
}

export interface Check {
  name: string;
  ok: boolean;
  detail: string;
  evidence: Record<string, unknown>;
}

export interface Decision {
  approver: string;
  decision: "approve" | "reject" | string;
  comment: string;
  role: string;
  at: number;
}

export type RequestState = "PENDING" | "APPROVED" | "REJECTED" | "CANCELED" | "APPLIED" | "EXPIRED";

export interface PromotionRequest {
  id: string;
  model: string;
  version: number;
  target_kind: "alias" | "stage";
  target: string;
  previous: number | null;
  justification: string;
  state: RequestState | string;
  policy_version: number;
  checks: Check[];
  applied_checks: Check[] | null;
  approvals: Decision[];
  requested_by: string;
  created_at: number;
  decided_at: number | null;
  applied_at: number | null;
  applied_by: string | null;
  expires_at: number | null;
  /** What the caller may do to it now, by the server's own rules (a single request's read). */
  allowed?: Record<RequestAction, boolean>;
}

export interface Provenance {
  alias: string;
  at: number | null;
  version: number | null;
  move: AliasMove | null;
  promotion: PromotionRequest | null;
}

export interface PolicyAnswer {
  model: string;
  version?: number;
  policy: {
    protect: { aliases: string[]; stages: string[] };
    approvals: { required: number; role: string };
    metrics: Record<string, string>;
    tags: string[];
    lineage: { datasets: boolean };
    digests: boolean;
    expires_after_days: number | null;
  } | null;
  document?: string;
}

const seg = encodeURIComponent;
const modelPath = (name: string) => `/registered-models/${seg(name)}`;
const versionPath = (name: string, version: number | string) =>
  `${modelPath(name)}/versions/${seg(String(version))}`;

export function searchModels(
  body: { filter?: string; max_results?: number; page_token?: string | null; order_by?: string[] },
  signal?: AbortSignal,
) {
  return post<{ registered_models: RegisteredModel[]; next_page_token: string | null }>(
    "/registered-models/search",
    { filter: "", max_results: 100, ...body },
    signal,
  );
}

export const getModel = (name: string, signal?: AbortSignal) =>
  get<RegisteredModel>(modelPath(name), undefined, signal);

/** Every version of one model, newest first (pages followed to the end). */
export async function modelVersions(name: string, signal?: AbortSignal): Promise<ModelVersion[]> {
  const found: ModelVersion[] = [];
  let token: string | null = null;
  do {
    const page: { model_versions: ModelVersion[]; next_page_token: string | null } = await post(
      "/model-versions/search",
      {
        filter: `name = '${name.replace(/'/g, "\\'")}'`,
        order_by: ["version_number DESC"],
        max_results: 1000,
        page_token: token,
      },
      signal,
    );
    found.push(...page.model_versions);
    token = page.next_page_token;
  } while (token);
  return found;
}

export const getVersion = (name: string, version: number | string, signal?: AbortSignal) =>
  get<ModelVersion>(versionPath(name, version), undefined, signal);

export const versionFiles = (name: string, version: number | string, signal?: AbortSignal) =>
  get<{ files: VersionFile[] }>(`${versionPath(name, version)}/files`, undefined, signal);

export const verifyVersion = (name: string, version: number | string) =>
  post<Verification>(`${versionPath(name, version)}/verify`);

/** The model's alias and stage moves; with ``at`` (UTC ms) also what every alias held then. */
export const aliasHistory = (name: string, signal?: AbortSignal, at?: number) =>
  get<AliasHistory>(`${modelPath(name)}/history`, { at }, signal);

export const aliasProvenance = (name: string, alias: string, at?: number, signal?: AbortSignal) =>
  get<Provenance>(`${modelPath(name)}/aliases/${seg(alias)}/provenance`, { at }, signal);

export const getPolicy = (name: string, signal?: AbortSignal) =>
  get<PolicyAnswer>(`${modelPath(name)}/policy`, undefined, signal);

export const setPolicy = (name: string, document: string) =>
  put<PolicyAnswer>(`${modelPath(name)}/policy`, { document });

export const listRequests = (
  query: { model?: string; state?: string; limit?: number },
  signal?: AbortSignal,
) =>
  get<{ requests: PromotionRequest[] }>(
    "/promotion-requests",
    { model: query.model || undefined, state: query.state || undefined, limit: query.limit ?? 200 },
    signal,
  );

export const getRequest = (id: string, signal?: AbortSignal) =>
  get<PromotionRequest>(`/promotion-requests/${seg(id)}`, undefined, signal);

export function openRequest(body: {
  model: string;
  version: number;
  alias?: string;
  stage?: string;
  justification: string;
}) {
  return post<PromotionRequest>("/promotion-requests", body);
}

export type RequestAction = "approve" | "reject" | "cancel" | "apply";

export function actOnRequest(id: string, action: RequestAction, comment = "") {
  const body = action === "approve" || action === "reject" ? { comment } : {};
  return post<PromotionRequest>(`/promotion-requests/${seg(id)}/${action}`, body);
}

/** The compliance report's address (HTML opens in its own tab; the server escapes every value). */
export const reportUrl = (name: string, version: number | string, format: "html" | "markdown") =>
  `${API}${versionPath(name, version)}/report?format=${format}`;

/** The report as Markdown text, shown as text (never rendered as HTML). */
export async function reportMarkdown(name: string, version: number | string, signal?: AbortSignal) {
  const response = await fetch(reportUrl(name, version, "markdown"), {
    credentials: "same-origin",
    headers: { accept: "text/markdown" },
    signal,
  });
  if (!response.ok) throw await textFailure(response);
  return response.text();
}

/** Where a version's MLmodel file can be read: its logged model's files, or its run's. */
export function mlmodelUrl(version: ModelVersion): string | null {
  if (version.logged_model_id) {
    return `${API}/logged-models/${seg(version.logged_model_id)}/artifacts/MLmodel`;
  }
  const found = /^runs:\/([0-9a-f]{32})\/(.+?)\/*$/.exec(version.source);
  if (!found) return null;
  const path = [...found[2].split("/"), "MLmodel"].map(seg).join("/");
  return `${API}/runs/${found[1]}/artifacts/${path}`;
}

/** The MLmodel file's text, or null when the version has none the API can reach. */
export async function mlmodelText(version: ModelVersion, signal?: AbortSignal): Promise<string | null> {
  const url = mlmodelUrl(version);
  if (!url) return null;
  const response = await fetch(url, { credentials: "same-origin", signal });
  if (response.status === 404) return null;
  if (!response.ok) throw await textFailure(response);
  return response.text();
}

async function textFailure(response: Response): Promise<ApiError> {
  try {
    const body = await response.json();
    return new ApiError(response.status, body?.error?.code ?? `HTTP_${response.status}`,
      body?.error?.message ?? response.statusText);
  } catch {
    return new ApiError(response.status, `HTTP_${response.status}`, response.statusText);
  }
}

export interface AuditEvent {
  seq: number;
  time: number;
  actor: string;
  action: string;
  resource_type: string;
  resource_id: string;
  summary: Record<string, unknown>;
}

export const auditEvents = (
  query: { resource_type?: string; resource_id?: string; limit?: number },
  signal?: AbortSignal,
) => get<{ events: AuditEvent[]; next_after_seq: number | null }>("/audit/events", query, signal);
