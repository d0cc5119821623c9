import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import { Link, useParams, useSearchParams } from "react-router-dom";
import { useVirtualizer } from "@tanstack/react-virtual";
import { ApiError } from "../../api/client";
import { experimentKeys, getExperiment, runKeys, type Experiment, type Run } from "../../api/tracking";
import { useApi } from "../../api/useApi";
import { ErrorBox } from "../../components/Status";
import { formatDuration, formatTime, formatValue } from "../../components/format";
import { ColumnChooser } from "./ColumnChooser";
import { FilterBox } from "./FilterBox";
import { groupId, groupRows, plainRows, type Row } from "./grouping";
import { keysOfRuns, mergeKeys, valuesOf } from "./runKeys";
import {
  columnText,
  effectiveColumns,
  nextOrder,
  orderByClause,
  parseView,
  sameColumn,
  sortable,
  viewSearch,
  type ColumnId,
  type RunView,
} from "./runView";
import { useRunPages } from "./useRunPages";
import "./tracking.css";

/** Set once the run table first shows runs it can take clicks on (benchmarks wait for it). */
export const INTERACTIVE_MARK = "clew:runs-interactive";
const ROW_HEIGHT = 34;
const HEADER_HEIGHT = 38;

const ATTRIBUTE_LABELS: Record<string, string> = {
  run_name: "Run name",
  status: "Status",
  start_time: "Created",
  duration: "Duration",
  user_id: "User",
  run_id: "Run ID",
  end_time: "Ended",
  experiment_id: "Experiment",
};

function columnWidth(c: ColumnId): number {
  if (c.entity === "attributes") {
    return { run_name: 240, status: 110, start_time: 180, duration: 90, user_id: 110, run_id: 270, end_time: 180 }[c.key] ?? 160;
  }
  return 140;
}

/** "2026-12-04 18:05:24" in local time: sortable at a glance and narrow enough for a column. */
function shortTime(ms: number | null): string {
  if (!ms) return "";
  const d = new Date(ms);
  const p = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

function metricValue(run: Run, key: string): number | string | undefined {
  return run.data.metrics.find((m) => m.key === key)?.value;
}

/** The text of a cell, for its title and for the cells that are plain text. */
function cellText(run: Run, c: ColumnId, experiments: Map<string, Experiment>): string {
  switch (c.entity) {
    case "metrics":
      return formatValue(metricValue(run, c.key));
    case "params":
      return run.data.params[c.key] ?? "";
    case "tags":
      return run.data.tags[c.key] ?? "";
    case "attributes":
      switch (c.key) {
        case "start_time":
          return shortTime(run.info.start_time);
        case "end_time":
          return shortTime(run.info.end_time);
        case "duration":
          return formatDuration(run.info.start_time, run.info.end_time);
        case "experiment_id":
          return experiments.get(run.info.experiment_id)?.name ?? run.info.experiment_id;
        default:
          return String((run.info as unknown as Record<string, unknown>)[c.key] ?? "");
      }
  }
}

function Cell({ run, column, experiments }: { run: Run; column: ColumnId; experiments: Map<string, Experiment> }) {
  const text = cellText(run, column, experiments);
  if (column.entity === "attributes" && column.key === "run_name") {
    return (
      <td title={text}>
        <Link to={`/runs/${run.info.run_id}`}>{text || run.info.run_id}</Link>
      </td>
    );
  }
  if (column.entity === "attributes" && column.key === "status") {
    return (
      <td>
        <span className={`badge state-${run.info.status}`}>{text}</span>
      </td>
    );
  }
  if (column.entity === "attributes" && column.key === "experiment_id") {
    return (
      <td title={text}>
        <Link to={`/experiments/${run.info.experiment_id}`}>{text}</Link>
      </td>
    );
  }
  const numeric = column.entity === "metrics";
  const raw = numeric ? metricValue(run, column.key) : undefined;
  const title = raw !== undefined ? String(raw) : column.key === "start_time" || column.key === "end_time" ? formatTime(column.key === "start_time" ? run.info.start_time : run.info.end_time) : text;
  return (
    <td className={numeric ? "num" : column.key === "run_id" ? "mono" : undefined} title={title}>
      {text}
    </td>
  );
}

function HeaderCell({
  column,
  order,
  onSort,
}: {
  column: ColumnId;
  order: RunView["order"];
  onSort: (c: ColumnId) => void;
}) {
  const label = column.entity === "attributes" ? ATTRIBUTE_LABELS[column.key] ?? column.key : column.key;
  const entity = column.entity === "attributes" ? null : column.entity.slice(0, -1);
  const sorted = order && sameColumn(order.column, column) ? (order.desc ? "descending" : "ascending") : undefined;
  const content = (
    <>
      {entity && (
        <>
          <span className={`col-entity col-${column.entity}`} aria-hidden="true">
            {entity[0].toUpperCase()}
          </span>
          <span className="visually-hidden">{entity} </span>
        </>
      )}
      <span className="col-name">{label}</span>
      {sorted && <span aria-hidden="true">{sorted === "descending" ? " ▼" : " ▲"}</span>}
    </>
  );
  return (
    <th scope="col" aria-sort={sorted ?? (sortable(column) ? "none" : undefined)} style={{ width: columnWidth(column) }} title={columnText(column)}>
      {sortable(column) ? (
        <button type="button" className="th-sort" onClick={() => onSort(column)} aria-label={`Sort by ${columnText(column)}`}>
          {content}
        </button>
      ) : (
        content
      )}
    </th>
  );
}

/**
 * The run table of one or more experiments: a virtual list over any number of runs, paged from
 * the server as it scrolls; filter, order, columns and grouping live in the URL.
 */
export function RunsPage() {
  const { experimentId } = useParams();
  const [search, setSearch] = useSearchParams();
  const view = useMemo(() => parseView(search, experimentId), [search, experimentId]);
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const [collapsed, setCollapsed] = useState<Set<string>>(new Set());

  const setView = useCallback(
    (next: RunView, replace = false) => setSearch(viewSearch(next, experimentId), { replace }),
    [setSearch, experimentId],
  );

  // One missing experiment must not hide the names of the others.
  const experiments = useApi(
    async (signal) => {
      const settled = await Promise.allSettled(view.experimentIds.map((id) => getExperiment(id, signal)));
      const failed = settled.find((s): s is PromiseRejectedResult => s.status === "rejected");
      if (failed && settled.length === 1) throw failed.reason;
      return {
        found: settled.flatMap((s) => (s.status === "fulfilled" ? [s.value] : [])),
        error: failed ? (failed.reason as Error) : undefined,
      };
    },
    [view.experimentIds.join(",")],
  );
  const experimentMap = useMemo(
    () => new Map((experiments.data?.found ?? []).map((e) => [e.experiment_id, e])),
    [experiments.data],
  );
  const serverKeys = useApi(
    (signal) =>
      view.experimentIds.length === 1
        ? experimentKeys(view.experimentIds[0], signal)
        : view.experimentIds.length
          ? runKeys(view.experimentIds, signal)
          : Promise.resolve(null),
    [view.experimentIds.join(",")],
  );

  const body = useMemo(
    () =>
      view.experimentIds.length
        ? {
            experiment_ids: view.experimentIds,
            filter: view.filter || undefined,
            order_by: view.order ? [orderByClause(view.order.column, view.order.desc)] : undefined,
          }
        : null,
    [view.experimentIds.join(","), view.filter, view.order?.column.entity, view.order?.column.key, view.order?.desc], // eslint-disable-line react-hooks/exhaustive-deps
  );
  const pages = useRunPages(body);
  const { runs, count, done } = pages;

  // Keys from the loaded runs are recomputed only while the first pages arrive.
  const scanned = Math.min(runs.length, 5000);
  const loadedKeys = useMemo(() => keysOfRuns(runs), [scanned]); // eslint-disable-line react-hooks/exhaustive-deps
  const keys = useMemo(() => mergeKeys(serverKeys.data, loadedKeys), [serverKeys.data, loadedKeys]);
  const datasets = serverKeys.data?.datasets;
  const values = useCallback(
    (entity: string, key: string) => (entity === "datasets" && key === "name" ? datasets ?? [] : valuesOf(runs, entity, key)),
    [scanned, datasets], // eslint-disable-line react-hooks/exhaustive-deps
  );

  const columns = effectiveColumns(view, keys.metrics);
  useEffect(() => setCollapsed(new Set()), [view.groupBy]);

  const rows: Row<Run>[] = useMemo(
    () =>
      view.groupBy ? groupRows(runs, (r) => r.data.params[view.groupBy!], collapsed) : plainRows(runs),
    [runs, view.groupBy, collapsed],
  );
  const total = view.groupBy
    ? rows.length + (done ? 0 : 1)
    : Math.max(count ?? 0, runs.length + (done ? 0 : 1));

  // The first frame with run rows on screen and their handlers attached: benchmarks time
  // "interactive" by this mark (once per page load).
  const hasRuns = runs.length > 0;
  useEffect(() => {
    if (!hasRuns || performance.getEntriesByName(INTERACTIVE_MARK).length > 0) return;
    requestAnimationFrame(() => performance.mark(INTERACTIVE_MARK));
  }, [hasRuns]);

  const scroller = useRef<HTMLDivElement>(null);
  const virtualizer = useVirtualizer({
    count: total,
    getScrollElement: () => scroller.current,
    estimateSize: () => ROW_HEIGHT,
    overscan: 15,
    paddingStart: HEADER_HEIGHT,
  });
  const items = virtualizer.getVirtualItems();
  const lastIndex = items.length ? items[items.length - 1].index : 0;
  useEffect(() => {
    if (view.groupBy) {
      if (lastIndex >= rows.length - 1) pages.ensure(runs.length + 200);
    } else pages.ensure(lastIndex);
  }, [lastIndex, rows.length, runs.length, view.groupBy]); // eslint-disable-line react-hooks/exhaustive-deps
  useEffect(() => {
    scroller.current?.scrollTo({ top: 0 });
  }, [body]);

  const onSort = (c: ColumnId) => setView({ ...view, order: nextOrder(view.order, c) });
  // Shift-click selects the range from the last run clicked, in the table's row order.
  const lastClicked = useRef<number | null>(null);
  const toggle = (rowIndex: number, id: string, range: boolean) => {
    const from = lastClicked.current;
    lastClicked.current = rowIndex;
    setSelected((s) => {
      const next = new Set(s);
      const on = !next.has(id);
      const [a, b] = range && from !== null ? [Math.min(from, rowIndex), Math.max(from, rowIndex)] : [rowIndex, rowIndex];
      for (let i = a; i <= b; i++) {
        const row = rows[i];
        if (row?.type !== "run") continue;
        if (on) next.add(row.item.info.run_id);
        else next.delete(row.item.info.run_id);
      }
      return next;
    });
  };
  const [copied, setCopied] = useState(false);
  const copyLink = () => {
    navigator.clipboard
      ?.writeText(window.location.href)
      .then(() => {
        setCopied(true);
        window.setTimeout(() => setCopied(false), 2000);
      })
      .catch(() => setCopied(false));
  };
  const toggleGroup = (value: string | null) =>
    setCollapsed((s) => {
      const next = new Set(s);
      const id = groupId(value);
      if (next.has(id)) next.delete(id);
      else next.add(id);
      return next;
    });

  const selectedIds = [...selected];
  const title =
    view.experimentIds.length === 1
      ? experiments.data?.found[0]?.name ?? ""
      : `Runs of ${view.experimentIds.length} experiments`;
  const width = 40 + columns.reduce((sum, c) => sum + columnWidth(c), 0);
  const span = columns.length + 1;
  const top = items.length ? items[0].start - HEADER_HEIGHT : 0;
  const bottom = items.length ? virtualizer.getTotalSize() - items[items.length - 1].end : 0;
  const filterError = pages.error;

  if (!view.experimentIds.length) {
    return (
      <section>
        <h1>Runs</h1>
        <p>
          Pick experiments on the <Link to="/experiments">experiment list</Link>, or name them in the address: <span className="mono">/runs?experiments=1,2</span>.
        </p>
      </section>
    );
  }

  return (
    <section className="runs-page">
      <nav aria-label="Breadcrumb" className="crumbs">
        <Link to="/experiments">Experiments</Link>
        {view.experimentIds.length > 1 &&
          (experiments.data?.found ?? []).map((e) => (
            <span key={e.experiment_id}>
              {" / "}
              <Link to={`/experiments/${e.experiment_id}`}>{e.name}</Link>
            </span>
          ))}
      </nav>
      <h1>
        {title || "\u00a0"}
        {view.experimentIds.length === 1 && <span className="h-id mono"> #{view.experimentIds[0]}</span>}
      </h1>
      <ErrorBox error={experiments.error ?? experiments.data?.error} />
      <FilterBox
        value={view.filter}
        keys={keys}
        values={values}
        error={filterError}
        onSubmit={(filter) => setView({ ...view, filter })}
      />
      <div className="toolbar runs-toolbar">
        <ColumnChooser columns={columns} keys={keys} onChange={(cols) => setView({ ...view, columns: cols }, true)} />
        <label className="inline">
          <span>Group by</span>
          <select
            value={view.groupBy ?? ""}
            onChange={(e) => setView({ ...view, groupBy: e.target.value || null })}
          >
            <option value="">None</option>
            {keys.params.map((p) => (
              <option key={p} value={p}>
                params.{p}
              </option>
            ))}
          </select>
        </label>
        <span className="toolbar-gap" />
        <button
          type="button"
          className="ghost"
          onClick={copyLink}
          title="The address holds the filter, order, columns and grouping: share it to share this view"
        >
          {copied ? "Link copied" : "Copy link to this view"}
        </button>
        {selected.size > 0 && (
          <button type="button" className="ghost" onClick={() => setSelected(new Set())}>
            Clear selection
          </button>
        )}
        {selectedIds.length >= 2 ? (
          <Link className="button" to={`/compare?runs=${selectedIds.join(",")}`}>
            Compare {selectedIds.length} runs
          </Link>
        ) : (
          <button type="button" disabled title="Select two or more runs">
            Compare
          </button>
        )}
      </div>
      <p className="run-status" role="status" aria-live="polite">
        {summary(runs.length, count, done, pages.loading, !!filterError)}
        {!done && pages.wanted > runs.length + 1000 && (
          <span className="hint">
            {" "}
            Fetching in order up to row {(pages.wanted + 1).toLocaleString()} (pages follow the server's cursor; reversing the
            order reaches the far end at once).
          </span>
        )}
        {view.groupBy && (
          <span className="hint">
            {" "}
            Grouped by params.{view.groupBy} over the {runs.length.toLocaleString()} loaded runs
            {done ? "" : "; scroll to load more"}.
          </span>
        )}
      </p>
      {pages.error && !(pages.error instanceof ApiError && pages.error.status === 400) && (
        <ErrorBox error={pages.error} />
      )}
      <div className="run-scroller" ref={scroller} tabIndex={0} role="region" aria-label="Runs">
        <table className="grid runs-grid" style={{ width }} aria-rowcount={total + 1}>
          <colgroup>
            <col style={{ width: 40 }} />
            {columns.map((c) => (
              <col key={columnText(c)} style={{ width: columnWidth(c) }} />
            ))}
          </colgroup>
          <thead>
            <tr aria-rowindex={1}>
              <th scope="col" className="check-cell">
                <span className="visually-hidden">Select</span>
              </th>
              {columns.map((c) => (
                <HeaderCell key={columnText(c)} column={c} order={view.order} onSort={onSort} />
              ))}
            </tr>
          </thead>
          <tbody>
            {top > 0 && (
              <tr aria-hidden="true" style={{ height: top }} className="spacer">
                <td colSpan={span} />
              </tr>
            )}
            {items.map((v) => {
              const row = rows[v.index];
              if (!row) {
                const loadingRow = v.index >= runs.length && !done;
                return (
                  <tr key={`p${v.index}`} className="placeholder" aria-rowindex={v.index + 2} style={{ height: ROW_HEIGHT }}>
                    <td colSpan={span}>{loadingRow ? "Loading…" : ""}</td>
                  </tr>
                );
              }
              if (row.type === "group") {
                return (
                  <tr key={`g${groupId(row.value)}`} className="group-row" aria-rowindex={v.index + 2} style={{ height: ROW_HEIGHT }}>
                    <td colSpan={span}>
                      <button type="button" className="group-toggle" aria-expanded={!row.collapsed} onClick={() => toggleGroup(row.value)}>
                        <span aria-hidden="true">{row.collapsed ? "▸" : "▾"}</span>{" "}
                        <span className="mono">params.{view.groupBy}</span> ={" "}
                        {row.value === null ? <em>not set</em> : <strong className="mono">{row.value === "" ? "''" : row.value}</strong>}
                        <span className="hint"> · {row.count} {row.count === 1 ? "run" : "runs"}</span>
                      </button>
                    </td>
                  </tr>
                );
              }
              const run = row.item;
              const id = run.info.run_id;
              return (
                <tr key={id} aria-rowindex={v.index + 2} aria-selected={selected.has(id)} style={{ height: ROW_HEIGHT }}>
                  <td className="check-cell">
                    <input
                      type="checkbox"
                      checked={selected.has(id)}
                      onClick={(e) => toggle(v.index, id, e.shiftKey)}
                      onChange={() => undefined}
                      aria-label={`Select run ${run.info.run_name || id}`}
                    />
                  </td>
                  {columns.map((c) => (
                    <Cell key={columnText(c)} run={run} column={c} experiments={experimentMap} />
                  ))}
                </tr>
              );
            })}
            {bottom > 0 && (
              <tr aria-hidden="true" style={{ height: bottom }} className="spacer">
                <td colSpan={span} />
              </tr>
            )}
          </tbody>
        </table>
        {done && runs.length === 0 && !filterError && <p className="empty">No runs match.</p>}
      </div>
    </section>
  );
}

function summary(loaded: number, count: number | null, done: boolean, loading: boolean, failed: boolean): string {
  if (failed) return "The search failed.";
  const n = (x: number) => x.toLocaleString();
  if (done) return `${n(loaded)} ${loaded === 1 ? "run" : "runs"}.`;
  const of = count !== null ? ` of ${n(count)}` : "";
  return `${n(loaded)}${of} runs loaded${loading ? ", loading more…" : "; more load as you scroll."}`;
}
