import { useMemo } from "react";
import { Link, useParams, useSearchParams } from "react-router-dom";
import { getExperiment, getMetricHistory, getRun, searchRuns, type DatasetInput, type Run } from "../../api/tracking";
import { useApi } from "../../api/useApi";
import { Empty, ErrorBox, Loading } from "../../components/Status";
import { formatDuration, formatTime, formatValue } from "../../components/format";
import { ArtifactBrowser } from "./ArtifactBrowser";
import { MetricChart } from "./MetricChart";
import { isSystemTag } from "./runKeys";
import { quoteString } from "./searchCompletion";
import "./tracking.css";

const NOTE_TAG = "mlflow.note.content";
const PIPELINE_RUN_TAG = "clew.pipeline.run";
const PIPELINE_TAG = "clew.pipeline";
const STEP_TAG = "clew.pipeline.step";

/** The pipeline run a run belongs to: its own id for a pipeline's root run, else its tag. */
export function pipelineRunOf(run: Run): string | null {
  const tags = run.data.tags;
  if (tags[PIPELINE_RUN_TAG]) return tags[PIPELINE_RUN_TAG];
  if (tags[PIPELINE_TAG]) return run.info.run_id;
  return null;
}

function KeyValues({ entries, label }: { entries: [string, string][]; label: string }) {
  if (!entries.length) return <Empty>No {label}.</Empty>;
  return (
    <table className="grid kv-table">
      <thead>
        <tr>
          <th scope="col">Key</th>
          <th scope="col">Value</th>
        </tr>
      </thead>
      <tbody>
        {entries.map(([k, v]) => (
          <tr key={k}>
            <th scope="row" className="mono">
              {k}
            </th>
            <td className="value-cell">{v}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function prettyJson(text: string): string {
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return text;
  }
}

function Datasets({ inputs }: { inputs: DatasetInput[] }) {
  if (!inputs.length) return <Empty>No datasets.</Empty>;
  return (
    <div className="datasets">
      {inputs.map((input, i) => {
        const d = input.dataset;
        const context = input.tags["mlflow.data.context"];
        return (
          <article key={`${d.name}-${d.digest}-${i}`} className="dataset">
            <h3>
              {d.name} {context && <span className="badge">{context}</span>}
            </h3>
            <dl className="kv">
              <dt>Digest</dt>
              <dd className="mono">{d.digest}</dd>
              <dt>Source</dt>
              <dd>
                <span className="badge">{d.source_type}</span> <span className="mono">{d.source}</span>
              </dd>
            </dl>
            {d.schema && (
              <details>
                <summary>Schema</summary>
                <pre className="preview">{prettyJson(d.schema)}</pre>
              </details>
            )}
            {d.profile && (
              <details>
                <summary>Profile</summary>
                <pre className="preview">{prettyJson(d.profile)}</pre>
              </details>
            )}
          </article>
        );
      })}
    </div>
  );
}

function MetricHistoryChart({ runId, metric }: { runId: string; metric: string }) {
  const history = useApi((signal) => getMetricHistory(runId, metric, 2000, signal), [runId, metric]);
  return (
    <figure className="metric-figure" aria-label={`History of ${metric}`}>
      <figcaption>
        History of <span className="mono">{metric}</span>
        {history.data && <span className="hint"> · {history.data.steps.length} points</span>}
      </figcaption>
      {history.loading && !history.data ? <Loading /> : <ErrorBox error={history.error} />}
      {history.data && <MetricChart history={history.data} />}
    </figure>
  );
}

function ChildRuns({ run }: { run: Run }) {
  const filter = `tags.\`mlflow.parentRunId\` = ${quoteString(run.info.run_id)}`;
  const children = useApi(
    (signal) =>
      searchRuns({ experiment_ids: [run.info.experiment_id], filter, max_results: 500, order_by: ["attributes.start_time ASC"] }, signal),
    [run.info.run_id],
  );
  if (children.loading && !children.data) return <Loading />;
  if (children.error) return <ErrorBox error={children.error} />;
  const runs = children.data?.runs ?? [];
  if (!runs.length) return <Empty>No child runs.</Empty>;
  const search = new URLSearchParams({ filter });
  return (
    <>
      <table className="grid">
        <thead>
          <tr>
            <th scope="col">Run</th>
            <th scope="col">Status</th>
            <th scope="col">Created</th>
            <th scope="col">Duration</th>
          </tr>
        </thead>
        <tbody>
          {runs.map((c) => (
            <tr key={c.info.run_id}>
              <td>
                <Link to={`/runs/${c.info.run_id}`}>{c.info.run_name || c.info.run_id}</Link>
              </td>
              <td>
                <span className={`badge state-${c.info.status}`}>{c.info.status}</span>
              </td>
              <td>{formatTime(c.info.start_time)}</td>
              <td>{formatDuration(c.info.start_time, c.info.end_time)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {children.data?.next_page_token && (
        <p className="hint">
          The first {runs.length}: <Link to={`/experiments/${run.info.experiment_id}?${search}`}>all children in the run table</Link>.
        </p>
      )}
    </>
  );
}

/** One run: its facts, params, metrics (with history charts), tags, datasets, children and files. */
export function RunPage() {
  const { runId = "" } = useParams();
  const [search, setSearch] = useSearchParams();
  const loaded = useApi((signal) => getRun(runId, signal), [runId]);
  const run = loaded.data;
  const experiment = useApi(
    (signal) => (run ? getExperiment(run.info.experiment_id, signal) : Promise.resolve(null)),
    [run?.info.experiment_id],
  );
  const metric = search.get("metric");
  const artifact = search.get("artifact");
  const setParam = (name: string, value: string | null) => {
    const next = new URLSearchParams(search);
    if (value === null) next.delete(name);
    else next.set(name, value);
    setSearch(next, { replace: true });
  };

  const tags = useMemo(() => Object.entries(run?.data.tags ?? {}).sort(([a], [b]) => a.localeCompare(b)), [run]);
  if (loaded.loading && !run) return <Loading />;
  if (loaded.error || !run) {
    return (
      <section>
        <h1>Run</h1>
        <ErrorBox error={loaded.error} />
      </section>
    );
  }
  const info = run.info;
  const userTags = tags.filter(([k]) => !isSystemTag(k));
  const systemTags = tags.filter(([k]) => isSystemTag(k));
  const note = run.data.tags[NOTE_TAG];
  const pipelineRun = pipelineRunOf(run);
  const step = run.data.tags[STEP_TAG];
  const params = Object.entries(run.data.params).sort(([a], [b]) => a.localeCompare(b));
  const metrics = [...run.data.metrics].sort((a, b) => a.key.localeCompare(b.key));
  const experimentName = experiment.data?.name ?? info.experiment_id;

  return (
    <section className="run-page">
      <nav aria-label="Breadcrumb" className="crumbs">
        <Link to="/experiments">Experiments</Link> / <Link to={`/experiments/${info.experiment_id}`}>{experimentName}</Link> /
      </nav>
      <header className="run-head">
        <h1>{info.run_name || info.run_id}</h1>
        <span className={`badge state-${info.status}`}>{info.status}</span>
        {info.lifecycle_stage === "deleted" && <span className="badge state-FAILED">deleted</span>}
        <span className="toolbar-gap" />
        <nav aria-label="Related" className="run-links">
          {info.parent_run_id && <Link to={`/runs/${info.parent_run_id}`}>Parent run</Link>}
          {pipelineRun && <Link to={`/pipelines/runs/${pipelineRun}`}>{pipelineRun === info.run_id ? "Pipeline run" : `Pipeline run${step ? ` (step ${step})` : ""}`}</Link>}
          <Link to={`/lineage?run=${encodeURIComponent(info.run_id)}`}>Lineage</Link>
          <Link to={`/compare?runs=${encodeURIComponent(info.run_id)}`}>Compare</Link>
        </nav>
      </header>

      <div className="run-columns">
        <div>
          <h2>Details</h2>
          <dl className="kv">
            <dt>Run ID</dt>
            <dd className="mono">{info.run_id}</dd>
            <dt>Experiment</dt>
            <dd>
              <Link to={`/experiments/${info.experiment_id}`}>{experimentName}</Link>
            </dd>
            <dt>Status</dt>
            <dd>
              <span className={`badge state-${info.status}`}>{info.status}</span>
            </dd>
            <dt>Started</dt>
            <dd>{formatTime(info.start_time)}</dd>
            <dt>Ended</dt>
            <dd>{info.end_time ? formatTime(info.end_time) : "—"}</dd>
            <dt>Duration</dt>
            <dd>{info.end_time ? formatDuration(info.start_time, info.end_time) : info.status === "RUNNING" ? "running" : "—"}</dd>
            <dt>User</dt>
            <dd>{info.user_id}</dd>
            {info.parent_run_id && (
              <>
                <dt>Parent run</dt>
                <dd>
                  <Link to={`/runs/${info.parent_run_id}`} className="mono">
                    {info.parent_run_id}
                  </Link>
                </dd>
              </>
            )}
            <dt>Artifacts</dt>
            <dd className="mono">{info.artifact_uri}</dd>
          </dl>
          <h2>Description</h2>
          {note ? <p className="description">{note}</p> : <Empty>No description.</Empty>}
        </div>
        <div>
          <h2>Metrics</h2>
          {metrics.length === 0 ? (
            <Empty>No metrics.</Empty>
          ) : (
            <table className="grid">
              <thead>
                <tr>
                  <th scope="col">Metric</th>
                  <th scope="col" className="num">
                    Latest
                  </th>
                  <th scope="col" className="num">
                    Step
                  </th>
                  <th scope="col">History</th>
                </tr>
              </thead>
              <tbody>
                {metrics.map((m) => (
                  <tr key={m.key} aria-current={metric === m.key ? "true" : undefined}>
                    <th scope="row" className="mono">
                      {m.key}
                    </th>
                    <td className="num" title={String(m.value)}>
                      {formatValue(m.value)}
                    </td>
                    <td className="num">{m.step}</td>
                    <td>
                      <Link
                        to={{ search: `?${withParam(search, "metric", m.key)}` }}
                        replace
                        aria-label={`History of ${m.key}`}
                      >
                        Chart
                      </Link>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
          {metric && (
            <>
              <MetricHistoryChart runId={info.run_id} metric={metric} />
              <button type="button" className="ghost" onClick={() => setParam("metric", null)}>
                Close chart
              </button>
            </>
          )}
          <h2>Parameters</h2>
          <KeyValues entries={params} label="parameters" />
        </div>
      </div>

      <h2>Tags</h2>
      <KeyValues entries={userTags} label="tags" />
      {systemTags.length > 0 && (
        <details className="system-tags">
          <summary>System tags ({systemTags.length})</summary>
          <KeyValues entries={systemTags} label="system tags" />
        </details>
      )}

      <h2>Datasets</h2>
      <Datasets inputs={run.inputs ?? []} />

      <h2>Child runs</h2>
      <ChildRuns run={run} />

      <h2>Artifacts</h2>
      <ArtifactBrowser runId={info.run_id} selected={artifact} onSelect={(p) => setParam("artifact", p)} />
    </section>
  );
}

function withParam(search: URLSearchParams, name: string, value: string): string {
  const next = new URLSearchParams(search);
  next.set(name, value);
  return next.toString();
}
