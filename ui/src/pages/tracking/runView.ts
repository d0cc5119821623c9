/**
 * A run table's view (filter, order, columns, grouping, experiments) and its URL form.
 *
 * The URL is the saved view: a link reproduces the table exactly. Columns are repeated `col`
 * parameters rather than one comma list, because metric, param and tag keys may hold commas.
 */
import { quoteKey } from "./searchCompletion";

export type Entity = "attributes" | "metrics" | "params" | "tags";

/** A column: an attribute, or a metric/param/tag by key. Written `metrics.acc` in URLs. */
export interface ColumnId {
  entity: Entity;
  key: string;
}

export interface RunView {
  experimentIds: string[];
  filter: string;
  order: { column: ColumnId; desc: boolean } | null;
  /** null: the default columns (attributes plus the first metrics), chosen from the keys. */
  columns: ColumnId[] | null;
  /** A param key to group rows by. */
  groupBy: string | null;
}

const ENTITIES: Entity[] = ["attributes", "metrics", "params", "tags"];

/** The attributes a table may show; `duration` is computed, the others are run fields. */
export const ATTRIBUTE_COLUMNS = [
  "run_name",
  "status",
  "start_time",
  "duration",
  "user_id",
  "run_id",
  "end_time",
  "experiment_id",
] as const;
export const DEFAULT_ATTRIBUTES: ColumnId[] = ["run_name", "status", "start_time", "duration", "user_id"].map((key) => ({
  entity: "attributes",
  key,
}));
/** Attributes the server cannot order by. */
const UNSORTABLE = new Set(["duration"]);

export function columnText(c: ColumnId): string {
  return `${c.entity}.${c.key}`;
}

export function parseColumn(text: string): ColumnId | null {
  const dot = text.indexOf(".");
  if (dot <= 0) return null;
  const entity = text.slice(0, dot) as Entity;
  const key = text.slice(dot + 1);
  if (!ENTITIES.includes(entity) || !key) return null;
  if (entity === "attributes" && !(ATTRIBUTE_COLUMNS as readonly string[]).includes(key)) return null;
  return { entity, key };
}

export function sameColumn(a: ColumnId, b: ColumnId): boolean {
  return a.entity === b.entity && a.key === b.key;
}

export function sortable(c: ColumnId): boolean {
  return !(c.entity === "attributes" && UNSORTABLE.has(c.key));
}

/** The server's order_by clause for a column: `metrics.acc DESC`, keys quoted as needed. */
export function orderByClause(column: ColumnId, desc: boolean): string {
  return `${column.entity}.${quoteKey(column.key)} ${desc ? "DESC" : "ASC"}`;
}

export function parseView(search: URLSearchParams, routeExperimentId?: string): RunView {
  const listed = (search.get("experiments") ?? "")
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  const experimentIds = [...new Set(routeExperimentId ? [routeExperimentId, ...listed] : listed)];
  const orderColumn = search.get("order") ? parseColumn(search.get("order")!) : null;
  const cols = search.getAll("col");
  const columns = cols.length ? cols.map(parseColumn).filter((c): c is ColumnId => c !== null) : null;
  return {
    experimentIds,
    filter: search.get("filter") ?? "",
    order: orderColumn ? { column: orderColumn, desc: search.get("dir") !== "asc" } : null,
    columns,
    groupBy: search.get("group") || null,
  };
}

/**
 * The query string for a view. With `routeExperimentId` (the /experiments/:id page) that id is
 * in the path, so only the others are listed.
 */
export function viewSearch(view: RunView, routeExperimentId?: string): URLSearchParams {
  const out = new URLSearchParams();
  const others = view.experimentIds.filter((id) => id !== routeExperimentId);
  if (others.length) out.set("experiments", others.join(","));
  if (view.filter) out.set("filter", view.filter);
  if (view.order) {
    out.set("order", columnText(view.order.column));
    out.set("dir", view.order.desc ? "desc" : "asc");
  }
  for (const c of view.columns ?? []) out.append("col", columnText(c));
  if (view.groupBy) out.set("group", view.groupBy);
  return out;
}

/** The columns shown: the chosen ones, or the default attributes and the first few metrics. */
export function effectiveColumns(view: RunView, metricKeys: string[], defaultMetrics = 4): ColumnId[] {
  if (view.columns) return view.columns;
  const experiment: ColumnId[] = view.experimentIds.length > 1 ? [{ entity: "attributes", key: "experiment_id" }] : [];
  return [
    ...DEFAULT_ATTRIBUTES,
    ...experiment,
    ...metricKeys.slice(0, defaultMetrics).map((key) => ({ entity: "metrics" as const, key })),
  ];
}

/** Clicking a header: descending first (best metric on top), then ascending, then unsorted. */
export function nextOrder(current: RunView["order"], column: ColumnId): RunView["order"] {
  if (!current || !sameColumn(current.column, column)) return { column, desc: true };
  if (current.desc) return { column, desc: false };
  return null;
}
