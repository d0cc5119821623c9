/**
 * The audit log and identity administration over /api/v1: audit events, chain verification,
 * users, tokens, teams and role bindings. Everything but the audit reads needs an admin; the
 * server answers 403 (PERMISSION_DENIED) otherwise and the pages say so.
 */
import { API, del, get, patch, post, put } from "./client";

export interface AuditEvent {
  seq: number;
  time: number;
  actor: string;
  actor_kind: string;
  action: string;
  resource_type: string;
  resource_id: string;
  summary: Record<string, unknown>;
  prev_hash: string;
  hash: string;
}

export interface AuditPage {
  events: AuditEvent[];
  next_after_seq: number | null;
}

export interface AuditQuery {
  actor?: string;
  action?: string;
  resource_type?: string;
  resource_id?: string;
  since?: number;
  until?: number;
  after_seq?: number;
  limit?: number;
}

export interface Verification {
  ok: boolean;
  checked: number;
  head_seq: number;
  head_hash: string;
  broken_seq: number | null;
  reason: string;
}

export const listAuditEvents = (query: AuditQuery, signal?: AbortSignal) =>
  get<AuditPage>("/audit/events", { ...query }, signal);

export const verifyAudit = (signal?: AbortSignal) =>
  get<Verification>("/audit/verify", undefined, signal);

/** The JSON Lines export (a plain link: the browser downloads it with the session cookie). */
export const auditExportUrl = `${API}/audit/export`;

export interface User {
  id: string;
  name: string;
  kind: "user" | "service" | string;
  display_name: string;
  email: string;
  is_admin: boolean;
  disabled: boolean;
  has_password: boolean;
  created_by: string;
  created_at: number;
  updated_at: number;
  last_login_at: number | null;
}

export interface NewUser {
  name: string;
  kind: "user" | "service";
  password?: string;
  admin: boolean;
  display_name?: string;
  email?: string;
}

export interface AccessToken {
  id: string;
  user_id: string;
  user_name: string;
  name: string;
  created_by: string;
  created_at: number;
  expires_at: number | null;
  last_used_at: number | null;
  revoked_at: number | null;
}

export interface CreatedToken extends AccessToken {
  /** Shown once: the server keeps only its SHA-256. */
  secret: string;
}

export interface Team {
  id: string;
  name: string;
  description: string;
  members: string[];
  created_by: string;
  created_at: number;
}

export const ROLES = ["viewer", "editor", "maintainer", "admin"] as const;
export const SCOPES = [
  ["all", "Everything"],
  ["experiment", "An experiment"],
  ["registered_model", "A registered model"],
  ["pipeline", "A pipeline"],
] as const;
export type Role = (typeof ROLES)[number];
export type ScopeType = (typeof SCOPES)[number][0];

export interface RoleBinding {
  id: string;
  principal_kind: "user" | "team" | string;
  principal: string;
  role: Role | string;
  scope_type: ScopeType | string;
  scope_id: string;
  created_by: string;
  created_at: number;
}

export interface Grant {
  principal: string;
  team: boolean;
  role: Role;
  scope_type: ScopeType;
  scope_id: string;
}

export interface PasswordRules {
  password_min_length: number;
  password_max_length: number;
}

const enc = encodeURIComponent;

export const passwordRules = (signal?: AbortSignal) =>
  get<PasswordRules>("/auth/config", undefined, signal);

export const listUsers = (signal?: AbortSignal) =>
  get<{ users: User[] }>("/users", undefined, signal).then((r) => r.users);
export const createUser = (user: NewUser) => post<User>("/users", user);
/** Make or unmake an admin, disable or enable; the last enabled admin stays one (409). */
export const updateUser = (name: string, change: { admin?: boolean; disabled?: boolean }) =>
  patch<User>(`/users/${enc(name)}`, change);
/** Anyone's password, as an admin (``current`` for your own); ends their sessions. */
export const setPassword = (name: string, password: string, current?: string) =>
  put<void>(`/users/${enc(name)}/password`, current === undefined ? { password } : { password, current });

export const listTokens = (user: string | undefined, signal?: AbortSignal) =>
  get<{ tokens: AccessToken[] }>("/tokens", user ? { user } : { all: true }, signal).then(
    (r) => r.tokens,
  );
export const createToken = (user: string, name: string, expiresInS?: number) =>
  post<CreatedToken>(`/users/${enc(user)}/tokens`, { name, expires_in_s: expiresInS ?? null });
export const revokeToken = (id: string) => del<AccessToken>(`/tokens/${enc(id)}`);

export const listTeams = (signal?: AbortSignal) =>
  get<{ teams: Team[] }>("/teams", undefined, signal).then((r) => r.teams);
export const createTeam = (name: string, description: string) =>
  post<Team>("/teams", { name, description });
export const addMember = (team: string, user: string) =>
  put<Team>(`/teams/${enc(team)}/members/${enc(user)}`);
export const removeMember = (team: string, user: string) =>
  del<Team>(`/teams/${enc(team)}/members/${enc(user)}`);
export const deleteTeam = (team: string) => del<void>(`/teams/${enc(team)}`);

export const listBindings = (signal?: AbortSignal) =>
  get<{ bindings: RoleBinding[] }>("/role-bindings", undefined, signal).then((r) => r.bindings);
export const grantRole = (grant: Grant) => put<RoleBinding>("/role-bindings", grant);
export const revokeRole = (b: Pick<RoleBinding, "principal" | "principal_kind" | "scope_type" | "scope_id">) => {
  const query = new URLSearchParams({
    principal: b.principal,
    scope_type: b.scope_type,
    scope_id: b.scope_id,
    team: String(b.principal_kind === "team"),
  });
  return del<void>(`/role-bindings?${query.toString()}`);
};

export interface ScopeChoice {
  id: string;
  label: string;
}

/** What a scope of this type can name, for the grant form's suggestions: experiments by id,
 * registered models and pipelines by name. */
export async function scopeChoices(type: ScopeType, signal?: AbortSignal): Promise<ScopeChoice[]> {
  if (type === "experiment") {
    const found = await post<{ experiments: { experiment_id: string; name: string }[] }>(
      "/experiments/search",
      { max_results: 1000 },
      signal,
    );
    return found.experiments.map((e) => ({ id: e.experiment_id, label: e.name }));
  }
  if (type === "registered_model") {
    const found = await post<{ registered_models: { name: string }[] }>(
      "/registered-models/search",
      { max_results: 1000 },
      signal,
    );
    return found.registered_models.map((m) => ({ id: m.name, label: m.name }));
  }
  if (type === "pipeline") {
    const found = await get<{ versions: { pipeline: string }[] }>("/pipelines/versions", { limit: 1000 }, signal);
    return [...new Set(found.versions.map((v) => v.pipeline))].sort().map((p) => ({ id: p, label: p }));
  }
  return [];
}
