/**
 * The one way the UI talks to Clew: JSON over the public REST API at /api/v1.
 *
 * A browser session authenticates with its HttpOnly cookie; every state-changing request also
 * carries the session's CSRF token, which the server hands out at login and from /auth/me.
 * Errors arrive in Clew's error shape and become ApiError, so pages can show the stable code.
 */

export const API = "/api/v1";

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

let csrfToken = "";

/** Remember the session's CSRF token (from login or /auth/me). */
export function setCsrfToken(token: string | null | undefined): void {
  csrfToken = token ?? "";
}

type Query = Record<string, string | number | boolean | undefined | null | string[]>;

function withQuery(path: string, query?: Query): string {
  if (!query) return path;
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value === undefined || value === null) continue;
    if (Array.isArray(value)) value.forEach((v) => params.append(key, v));
    else params.set(key, String(value));
  }
  const text = params.toString();
  return text ? `${path}?${text}` : path;
}

async function failure(response: Response): Promise<ApiError> {
  let code = `HTTP_${response.status}`;
  let message = response.statusText || "Request failed";
  try {
    const body = await response.json();
    const error = body?.error ?? body;
    code = error?.code ?? error?.error_code ?? code;
    message = error?.message ?? message;
  } catch {
    // not JSON: keep the status line
  }
  return new ApiError(response.status, code, message);
}

export async function request<T>(
  method: string,
  path: string,
  options: { query?: Query; body?: unknown; signal?: AbortSignal } = {},
): Promise<T> {
  const headers: Record<string, string> = { accept: "application/json" };
  if (options.body !== undefined) headers["content-type"] = "application/json";
  if (method !== "GET" && csrfToken) headers["x-csrf-token"] = csrfToken;
  const response = await fetch(withQuery(API + path, options.query), {
    method,
    headers,
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
    credentials: "same-origin",
    signal: options.signal,
  });
  if (!response.ok) throw await failure(response);
  if (response.status === 204) return undefined as T;
  return (await response.json()) as T;
}

export const get = <T>(path: string, query?: Query, signal?: AbortSignal) =>
  request<T>("GET", path, { query, signal });
export const post = <T>(path: string, body?: unknown, signal?: AbortSignal) =>
  request<T>("POST", path, { body: body ?? {}, signal });
export const put = <T>(path: string, body?: unknown) => request<T>("PUT", path, { body: body ?? {} });
export const patch = <T>(path: string, body?: unknown) => request<T>("PATCH", path, { body });
export const del = <T>(path: string) => request<T>("DELETE", path);

/** The URL of a run artifact's bytes, for links, <img> and downloads. */
export function artifactUrl(runId: string, path: string): string {
  return `${API}/runs/${encodeURIComponent(runId)}/artifacts/${path
    .split("/")
    .map(encodeURIComponent)
    .join("/")}`;
}
