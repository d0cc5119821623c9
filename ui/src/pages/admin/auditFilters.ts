/**
 * The audit page's filters live in the URL, so a filtered view can be shared as a link.
 *
 * Times travel in the URL as ISO-8601 UTC (`2026-12-04T18:00:00.000Z`), readable and the same
 * for every reader whatever their time zone; the form shows them in the reader's local time
 * (what `<input type="datetime-local">` takes). The API wants UTC milliseconds, `until`
 * exclusive.
 */
import type { AuditQuery } from "../../api/admin";

export interface AuditFilters {
  actor: string;
  action: string;
  resource_type: string;
  resource_id: string;
  /** ISO-8601 instants, or "". */
  since: string;
  until: string;
  /** The page cursor: events older than this seq. */
  after: number | null;
}

const TEXT_KEYS = ["actor", "action", "resource_type", "resource_id"] as const;

export const NO_FILTERS: AuditFilters = {
  actor: "",
  action: "",
  resource_type: "",
  resource_id: "",
  since: "",
  until: "",
  after: null,
};

/** An instant from the URL: ISO text or epoch milliseconds; "" for anything else. */
function instant(text: string | null): string {
  if (!text) return "";
  const ms = /^\d+$/.test(text) ? Number(text) : Date.parse(text);
  return Number.isFinite(ms) ? new Date(ms).toISOString() : "";
}

export function filtersFromSearch(search: URLSearchParams): AuditFilters {
  const after = search.get("after");
  const out: AuditFilters = {
    ...NO_FILTERS,
    since: instant(search.get("since")),
    until: instant(search.get("until")),
    after: after && /^\d+$/.test(after) ? Number(after) : null,
  };
  for (const key of TEXT_KEYS) out[key] = (search.get(key) ?? "").trim();
  return out;
}

/** Only the filters that are set, in a stable order. */
export function filtersToSearch(filters: AuditFilters): URLSearchParams {
  const out = new URLSearchParams();
  for (const key of TEXT_KEYS) if (filters[key].trim()) out.set(key, filters[key].trim());
  if (filters.since) out.set("since", filters.since);
  if (filters.until) out.set("until", filters.until);
  if (filters.after !== null) out.set("after", String(filters.after));
  return out;
}

/** The API query for the filters: unset ones left out, times as UTC milliseconds. */
export function filtersToQuery(filters: AuditFilters, limit: number): AuditQuery {
  const query: AuditQuery = { limit };
  for (const key of TEXT_KEYS) if (filters[key]) query[key] = filters[key];
  if (filters.since) query.since = Date.parse(filters.since);
  if (filters.until) query.until = Date.parse(filters.until);
  if (filters.after !== null) query.after_seq = filters.after;
  return query;
}

export function hasFilters(filters: AuditFilters): boolean {
  return TEXT_KEYS.some((k) => filters[k] !== "") || filters.since !== "" || filters.until !== "";
}

const pad = (n: number) => String(n).padStart(2, "0");

/** An ISO instant as the local `YYYY-MM-DDTHH:MM` a datetime-local input shows. */
export function isoToLocalInput(iso: string): string {
  if (!iso) return "";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return "";
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

/** A datetime-local input's value (local time) as an ISO instant; "" when empty or invalid. */
export function localInputToIso(value: string): string {
  if (!value) return "";
  const d = new Date(value); // a date-time without an offset is local time
  return Number.isNaN(d.getTime()) ? "" : d.toISOString();
}
