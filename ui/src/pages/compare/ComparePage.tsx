import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import { useLocation, useNavigate } from "react-router-dom";
import { ApiError } from "../../api/client";
import { loadSeries, prefetchSeries, toNumber, type Series } from "../../api/metrics";
import { getRun, type Run } from "../../api/tracking";
import { useApi } from "../../api/useApi";
import { Empty, ErrorBox, Loading } from "../../components/Status";
import { runColor, runDash } from "./colors";
import { DiffTable } from "./DiffTable";
import { MetricChart, type ChartLine } from "./MetricChart";
import { ParallelCoordinates, type PcRun } from "./ParallelCoordinates";
import { formatState, readState, sharedKeys, type ViewState, type XAxis } from "./viewState";
import "./compare.css";

/** The mark the page sets once every chart has drawn its series (benchmarks wait for it). */
export const RENDERED_MARK = "clew:chart-rendered";

/** The chart keys a view shows: those in the URL, or the keys every run logged. */
function chartKeys(runs: Run[], metrics: string[] | null): string[] {
  const all = new Set(runs.flatMap((r) => r.data.metrics.map((m) => m.key)));
  return (metrics ?? sharedKeys(runs.map((r) => r.data.metrics.map((m) => m.key)))).filter((k) => all.has(k));
}

async function loadRuns(ids: string[], signal: AbortSignal, view?: Pick<ViewState, "metrics" | "x">) {
  const answers = await Promise.all(
    ids.map((id) =>
      getRun(id, signal).then(
        (run) => ({ id, run }),
        (error: unknown) => {
          if (error instanceof ApiError && (error.status === 404 || error.status === 403)) return { id, run: null, error };
          throw error;
        },
      ),
    ),
  );
  const runs = answers.filter((a) => a.run).map((a) => a.run as Run);
  if (view && !signal.aborted) prefetchSeries(runs.map((r) => r.info.run_id), chartKeys(runs, view.metrics), view.x);
  return {
    runs,
    missing: answers.filter((a) => !a.run).map((a) => a.id),
  };
}

/** Runs side by side: metric charts, params against a metric, and a diff of everything. */
export function ComparePage() {
  // The view lives in React state and is written to the URL a moment after it settles: a
  // slider being dragged would otherwise replace the history entry per pixel, which browsers
  // throttle. A URL changed from outside (back, a pasted link) is read back.
  const location = useLocation();
  const navigate = useNavigate();
  const [state, setState] = useState(() => readState(new URLSearchParams(location.search)));
  const written = useRef(location.search);
  useEffect(() => {
    if (location.search === written.current) return;
    written.current = location.search;
    setState(readState(new URLSearchParams(location.search)));
  }, [location.search]);
  useEffect(() => {
    const timer = setTimeout(() => {
      const search = `?${formatState(state)}`;
      if (search === written.current) return;
      written.current = search;
      navigate({ search }, { replace: true });
    }, 150);
    return () => clearTimeout(timer);
  }, [state, navigate]);
  const update = useCallback((change: Partial<ViewState>) => setState((s) => ({ ...s, ...change })), []);

  const runsKey = state.runs.join(",");
  const loaded = useApi((signal) => loadRuns(state.runs, signal, state), [runsKey]);
  const runs = useMemo(() => loaded.data?.runs ?? [], [loaded.data]);
  const labels = runs.map((r) => r.info.run_name || r.info.run_id.slice(0, 8));
  const colors = runs.map((r) => runColor(state.runs.indexOf(r.info.run_id)));

  return (
    <section className="compare">
      <h1>Compare runs</h1>
      {state.runs.length === 0 ? (
        <AddRuns onAdd={(ids) => update({ runs: ids })} />
      ) : (
        <>
          <RunChips runs={runs} labels={labels} colors={colors} onRemove={(id) => update({ runs: state.runs.filter((r) => r !== id) })} />
          <ErrorBox error={loaded.error} />
          {loaded.data && loaded.data.missing.length > 0 && (
            <p className="error-box" role="alert">
              Not found or not readable: <span className="mono">{loaded.data.missing.join(", ")}</span>
            </p>
          )}
          {loaded.loading && !loaded.data ? (
            <Loading label="Loading runs" />
          ) : runs.length === 0 ? (
            <Empty>None of these runs can be shown.</Empty>
          ) : (
            <>
              <Charts runs={runs} labels={labels} colors={colors} state={state} update={update} />
              <ParamsSection runs={runs} labels={labels} state={state} update={update} />
              <section aria-labelledby="diff-heading">
                <h2 id="diff-heading">Differences</h2>
                <DiffTable
                  runs={runs}
                  labels={labels}
                  colors={colors}
                  onlyDifferences={state.onlyDifferences}
                  onOnlyDifferences={(v) => update({ onlyDifferences: v })}
                />
              </section>
            </>
          )}
        </>
      )}
    </section>
  );
}

function AddRuns({ onAdd }: { onAdd: (ids: string[]) => void }) {
  const [text, setText] = useState("");
  const ids = text.split(/[\s,]+/).filter((s) => /^[0-9a-f]{32}$/.test(s));
  return (
    <form
      className="toolbar"
      onSubmit={(e) => {
        e.preventDefault();
        if (ids.length) onAdd(ids);
      }}
    >
      <p>Select runs in an experiment's run table and choose Compare, or paste run IDs here.</p>
      <label className="inline">
        <span className="visually-hidden">Run IDs, separated by commas</span>
        <input value={text} onChange={(e) => setText(e.target.value)} placeholder="run id, run id, …" size={60} />
      </label>
      <button type="submit" disabled={ids.length === 0}>
        Compare
      </button>
    </form>
  );
}

function RunChips({ runs, labels, colors, onRemove }: { runs: Run[]; labels: string[]; colors: string[]; onRemove: (id: string) => void }) {
  return (
    <ul className="run-chips" aria-label="Runs compared">
      {runs.map((run, i) => (
        <li key={run.info.run_id}>
          <span className="swatch" style={{ background: colors[i] }} aria-hidden="true" />
          <span className="chip-label">{labels[i]}</span>
          <span className="mono soft">{run.info.run_id.slice(0, 8)}</span>
          {runs.length > 1 && (
            <button type="button" className="ghost chip-remove" aria-label={`Remove ${labels[i]} from the comparison`} onClick={() => onRemove(run.info.run_id)}>
              ×
            </button>
          )}
        </li>
      ))}
    </ul>
  );
}

interface SectionProps {
  runs: Run[];
  labels: string[];
  state: ViewState;
  update: (change: Partial<ViewState>) => void;
}

function Charts({ runs, labels, colors, state, update }: SectionProps & { colors: string[] }) {
  const allKeys = useMemo(() => {
    const keys = new Set<string>();
    for (const r of runs) for (const m of r.data.metrics) keys.add(m.key);
    return [...keys].sort(new Intl.Collator(undefined, { numeric: true }).compare);
  }, [runs]);
  const defaultKeys = useMemo(() => sharedKeys(runs.map((r) => r.data.metrics.map((m) => m.key))), [runs]);
  const chosen = chartKeys(runs, state.metrics);
  const chosenKey = chosen.join("\u0000");
  const runKey = runs.map((r) => r.info.run_id).join(",");

  const series = useApi(
    (signal) =>
      loadSeries(runs.map((r) => r.info.run_id), chosen, state.x, undefined, signal),
    [runKey, chosenKey, state.x],
  );

  // Every chart reports its first draw of the current data; when all did, mark it once.
  const drawn = useRef(new Set<string>());
  const host = useRef<HTMLDivElement>(null);
  const generation = series.data;
  useEffect(() => {
    drawn.current = new Set();
    host.current?.removeAttribute("data-rendered");
  }, [generation]);
  const onDrawn = useCallback(
    (key: string) => {
      if (!generation || drawn.current.has(key)) return;
      drawn.current.add(key);
      if (drawn.current.size >= chosen.length && host.current && !host.current.dataset.rendered) {
        host.current.dataset.rendered = "true";
        if (performance.getEntriesByName(RENDERED_MARK).length === 0) performance.mark(RENDERED_MARK);
      }
    },
    // eslint-disable-next-line react-hooks/exhaustive-deps
    [generation, chosenKey],
  );

  const byKey = useMemo(() => {
    const map = new Map<string, Series[]>();
    for (const s of series.data?.series ?? []) {
      const list = map.get(s.key) ?? [];
      list.push(s);
      map.set(s.key, list);
    }
    return map;
  }, [series.data]);

  const toggle = (key: string) =>
    update({ metrics: chosen.includes(key) ? chosen.filter((k) => k !== key) : [...chosen, key] });
  const order = new Map(runs.map((r, i) => [r.info.run_id, i]));

  return (
    <section aria-labelledby="charts-heading">
      <h2 id="charts-heading">Metrics</h2>
      <div className="toolbar compare-controls">
        <details className="metric-picker">
          <summary>
            Metrics ({chosen.length} of {allKeys.length})
          </summary>
          <fieldset>
            <legend className="visually-hidden">Metrics to chart</legend>
            <div className="picker-actions">
              <button type="button" className="ghost" onClick={() => update({ metrics: defaultKeys })}>
                Shared by all runs
              </button>
              <button type="button" className="ghost" onClick={() => update({ metrics: allKeys })}>
                All
              </button>
              <button type="button" className="ghost" onClick={() => update({ metrics: [] })}>
                None
              </button>
            </div>
            {allKeys.map((key) => (
              <label key={key} className="picker-item">
                <input type="checkbox" checked={chosen.includes(key)} onChange={() => toggle(key)} />{" "}
                <span className="mono">{key}</span>
                {!defaultKeys.includes(key) && <span className="soft"> (not in every run)</span>}
              </label>
            ))}
          </fieldset>
        </details>
        <label className="inline">
          X axis{" "}
          <select value={state.x} onChange={(e) => update({ x: e.target.value as XAxis })}>
            <option value="step">Step</option>
            <option value="time">Relative time</option>
            <option value="wall">Wall time</option>
          </select>
        </label>
        <label className="inline">
          Smoothing{" "}
          <input
            type="range"
            min={0}
            max={0.99}
            step={0.01}
            value={state.smoothing}
            onChange={(e) => update({ smoothing: Number(e.target.value) })}
          />
          <output className="mono">{state.smoothing.toFixed(2)}</output>
        </label>
        <label className="inline">
          <input type="checkbox" checked={state.log} onChange={(e) => update({ log: e.target.checked })} /> Log scale
        </label>
        {series.loading && <span role="status" className="soft">Loading histories…</span>}
      </div>
      <ErrorBox error={series.error} />
      {chosen.length === 0 ? (
        <Empty>{allKeys.length === 0 ? "These runs logged no metrics." : "No metric chosen: pick some under Metrics."}</Empty>
      ) : (
        <div className="chart-grid" ref={host} data-charts={chosen.length}>
          {series.data &&
            chosen.map((key) => {
              const lines: ChartLine[] = (byKey.get(key) ?? [])
                .slice()
                .sort((a, b) => (order.get(a.runId) ?? 0) - (order.get(b.runId) ?? 0))
                .map((s) => {
                  const i = order.get(s.runId) ?? 0;
                  return { runId: s.runId, label: labels[i], color: colors[i], dash: runDash(state.runs.indexOf(s.runId)), xs: s.xs, ys: s.ys, totalPoints: s.totalPoints, downsampled: s.downsampled };
                });
              return (
                <MetricChart
                  key={key}
                  metric={key}
                  lines={lines}
                  x={state.x}
                  smoothing={state.smoothing}
                  log={state.log}
                  onDrawn={() => onDrawn(key)}
                />
              );
            })}
        </div>
      )}
    </section>
  );
}

function ParamsSection({ runs, labels, state, update }: SectionProps) {
  const paramKeys = useMemo(() => {
    const keys = new Set<string>();
    for (const r of runs) for (const k of Object.keys(r.data.params)) keys.add(k);
    return [...keys].sort(new Intl.Collator(undefined, { numeric: true }).compare);
  }, [runs]);
  const varying = paramKeys.filter((k) => new Set(runs.map((r) => r.data.params[k])).size > 1);
  const [shown, setShown] = useState<string[] | null>(null);
  const axes = (shown ?? (varying.length ? varying : paramKeys)).filter((k) => paramKeys.includes(k)).slice(0, 30);
  const metricKeys = useMemo(() => {
    const keys = new Set<string>();
    for (const r of runs) for (const m of r.data.metrics) keys.add(m.key);
    return [...keys].sort(new Intl.Collator(undefined, { numeric: true }).compare);
  }, [runs]);
  const metric = state.pcMetric && metricKeys.includes(state.pcMetric) ? state.pcMetric : (metricKeys[0] ?? null);
  const pcRuns: PcRun[] = runs.map((r, i) => ({
    runId: r.info.run_id,
    label: labels[i],
    params: r.data.params,
    metrics: Object.fromEntries(r.data.metrics.map((m) => [m.key, toNumber(m.value)])),
  }));

  return (
    <section aria-labelledby="pc-heading">
      <h2 id="pc-heading">Params against a metric</h2>
      {paramKeys.length === 0 ? (
        <Empty>These runs logged no params.</Empty>
      ) : (
        <>
          <div className="toolbar">
            <label className="inline">
              Colour by metric{" "}
              <select value={metric ?? ""} onChange={(e) => update({ pcMetric: e.target.value || null })}>
                {metricKeys.length === 0 && <option value="">(none)</option>}
                {metricKeys.map((k) => (
                  <option key={k} value={k}>
                    {k}
                  </option>
                ))}
              </select>
            </label>
            <details className="metric-picker">
              <summary>
                Params ({axes.length} of {paramKeys.length})
              </summary>
              <fieldset>
                <legend className="visually-hidden">Params to plot as axes</legend>
                {paramKeys.map((key) => (
                  <label key={key} className="picker-item">
                    <input
                      type="checkbox"
                      checked={axes.includes(key)}
                      onChange={() => setShown(axes.includes(key) ? axes.filter((k) => k !== key) : [...axes, key])}
                    />{" "}
                    <span className="mono">{key}</span>
                    {!varying.includes(key) && <span className="soft"> (same in every run)</span>}
                  </label>
                ))}
              </fieldset>
            </details>
          </div>
          <ParallelCoordinates runs={pcRuns} params={axes} metric={metric} />
        </>
      )}
    </section>
  );
}
