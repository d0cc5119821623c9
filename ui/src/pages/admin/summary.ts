/**
 * Audit summaries are JSON objects of what changed ({"role": "editor", "scope_type": ...}).
 * They are shown as text, one `key: value` per field, nested values as compact JSON, so a
 * reader sees what changed without reading braces and quotes. Only ever rendered as text.
 */

export type SummaryPart = [key: string, value: string];

export function valueText(value: unknown): string {
  if (value === null || value === undefined) return "null";
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  try {
    return JSON.stringify(value);
  } catch {
    return String(value);
  }
}

/** The summary's fields in key order (the server stores canonical, sorted JSON). */
export function summaryParts(summary: unknown): SummaryPart[] {
  if (summary === null || summary === undefined) return [];
  if (typeof summary !== "object" || Array.isArray(summary)) return [["value", valueText(summary)]];
  return Object.entries(summary as Record<string, unknown>)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([key, value]) => [key, valueText(value)]);
}

/** One line: `key: value · key: value`, cut at `max` characters with an ellipsis. */
export function summaryText(summary: unknown, max = 200): string {
  const text = summaryParts(summary)
    .map(([k, v]) => `${k}: ${v}`)
    .join(" · ");
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/** The start of a SHA-256, enough to tell hashes apart on screen. */
export function shortHash(hash: string, length = 12): string {
  return hash.length > length ? `${hash.slice(0, length)}…` : hash;
}

export type TokenState = "active" | "expired" | "revoked";

export function tokenState(
  token: { revoked_at: number | null; expires_at: number | null },
  now: number,
): TokenState {
  if (token.revoked_at !== null) return "revoked";
  if (token.expires_at !== null && token.expires_at <= now) return "expired";
  return "active";
}

/** What the password rules say about a candidate, or "" when it passes. */
export function passwordProblem(password: string, min: number, max: number): string {
  if (!password.trim()) return "A password must not be empty or blank.";
  if (password.length < min) return `${min - password.length} more characters needed (at least ${min}).`;
  if (password.length > max) return `At most ${max} characters.`;
  return "";
}

/** The server's rule for user, team and token names. */
export const NAME_RULE = "1-250 letters, digits and . _ @ + -, starting with a letter or digit";
