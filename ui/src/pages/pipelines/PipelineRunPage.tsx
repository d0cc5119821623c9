import { useMemo, useState } from "react";
import { Link, useParams } from "react-router-dom";
import { ApiError } from "../../api/client";
import {
  getPipelineRun,
  jobOfRun,
  runDefinition,
  stepRuns,
  type Job,
  type PipelineJson,
  type PipelineRunInfo,
} from "../../api/pipelines";
import { getRun, type Run } from "../../api/tracking";
import { ErrorBox, Loading } from "../../components/Status";
import { formatDuration, formatTime } from "../../components/format";
import { buildDag, stepRunView, type StepRunView } from "./dagModel";
import { layoutDag, type PlacedNode } from "./dagLayout";
import { DagView } from "./DagView";
import { StepPanel } from "./StepPanel";
import { usePolled } from "./usePolled";
import "./pipelines.css";

interface Loaded {
  run: Run;
  info: PipelineRunInfo | undefined;
  spec: PipelineJson | undefined;
  steps: StepRunView[];
  job: Job | undefined;
  /** Whether the jobs were looked through for this run (once: a run's job never changes). */
  jobLooked: boolean;
}

async function optional<T>(promise: Promise<T>): Promise<T | undefined> {
  try {
    return await promise;
  } catch (error) {
    if (error instanceof ApiError && (error.status === 404 || error.status === 403)) return undefined;
    throw error;
  }
}

/** Everything the page shows, read again on every poll while the run is going. */
async function loadRun(runId: string, known: Partial<Loaded>, signal: AbortSignal): Promise<Loaded> {
  const [run, info, steps] = await Promise.all([
    getRun(runId, signal),
    optional(getPipelineRun(runId, signal)),
    stepRuns(runId, signal),
  ]);
  const spec = known.spec ?? (await optional(runDefinition(runId, signal)));
  const pipeline = info?.pipeline ?? run.data.tags["clew.pipeline"];
  const job = known.jobLooked ? known.job : pipeline ? await optional(jobOfRun(pipeline, runId, signal)) : undefined;
  return { run, info, spec, steps: steps.map(stepRunView), job, jobLooked: true };
}

export const isLive = (state: string | undefined) => state === "RUNNING" || state === "QUEUED";

export function PipelineRunPage() {
  const { runId = "" } = useParams();
  const [known, setKnown] = useState<Partial<Loaded>>({});
  const [selected, setSelected] = useState<string>();
  const { data, error, polling } = usePolled(
    async (signal) => {
      const loaded = await loadRun(runId, known, signal);
      if (loaded.spec !== known.spec || !known.jobLooked) setKnown({ spec: loaded.spec, job: loaded.job, jobLooked: true });
      return loaded;
    },
    [runId],
    1500,
    (d) => isLive(d.info?.state) || d.run.info.status === "RUNNING",
  );

  const state = data?.info?.state ?? data?.run.data.tags["clew.pipeline.state"] ?? data?.run.info.status;
  const layout = useMemo(() => {
    if (!data?.spec) return undefined;
    return layoutDag(buildDag(data.spec, data.steps, { ended: !isLive(state) }));
  }, [data?.spec, data?.steps, state]);
  const node = layout?.nodes.find((n) => n.id === selected);

  if (!data) {
    return (
      <section>
        <h1>Pipeline run</h1>
        {error ? <ErrorBox error={error} /> : <Loading />}
      </section>
    );
  }
  const counts = new Map<string, number>();
  for (const s of data.steps) counts.set(s.state, (counts.get(s.state) ?? 0) + 1);
  const pipeline = data.info?.pipeline ?? data.run.data.tags["clew.pipeline"] ?? "";

  return (
    <section className="pipeline-run">
      <p className="crumbs">
        <Link to="/pipelines">Pipelines</Link> / {pipeline}
      </p>
      <h1>
        Pipeline run <span className="mono">{runId.slice(0, 12)}</span>{" "}
        <span className={`badge state-${state}`}>{state}</span>
        {polling && (
          <span className="live" role="status">
            live
          </span>
        )}
      </h1>
      <ErrorBox error={error} />
      <dl className="kv run-summary">
        <dt>Pipeline</dt>
        <dd>{pipeline}</dd>
        <dt>Started</dt>
        <dd>{formatTime(data.run.info.start_time)}</dd>
        <dt>Duration</dt>
        <dd>{formatDuration(data.run.info.start_time, data.run.info.end_time ?? (polling ? Date.now() : null))}</dd>
        <dt>Steps</dt>
        <dd>
          {[...counts].map(([s, n]) => (
            <span key={s} className={`badge state-${s}`}>
              {n} {s.toLowerCase()}
            </span>
          ))}
        </dd>
        {data.info?.engine_lost && (
          <>
            <dt>Engine</dt>
            <dd className="warn">lost: it has not beaten for three intervals</dd>
          </>
        )}
        {data.run.data.tags["clew.pipeline.reason"] && (
          <>
            <dt>Reason</dt>
            <dd>{data.run.data.tags["clew.pipeline.reason"]}</dd>
          </>
        )}
        <dt>Tracked run</dt>
        <dd>
          <Link to={`/runs/${runId}`}>{data.run.info.run_name}</Link> ·{" "}
          <Link to={`/lineage?run=${runId}`}>lineage</Link>
          {data.job && (
            <>
              {" "}
              · job <span className="mono">{data.job.id.slice(0, 12)}</span>
            </>
          )}
        </dd>
      </dl>
      <div className={`dag-layout${node ? " with-panel" : ""}`}>
        {layout ? (
          <DagView layout={layout} selected={selected} onSelect={(n: PlacedNode) => setSelected(n.id)} />
        ) : (
          <p className="empty">This run has no pipeline.json, so its graph cannot be drawn; its step runs are listed below.</p>
        )}
        {node && <StepPanel node={node} pipelineRunId={runId} job={data.job} live={polling} onClose={() => setSelected(undefined)} />}
      </div>
      <details className="step-list" open={!layout}>
        <summary>Step runs ({data.steps.length})</summary>
        <table className="grid">
          <thead>
            <tr>
              <th>Step</th>
              <th>State</th>
              <th>Duration</th>
              <th>Run</th>
            </tr>
          </thead>
          <tbody>
            {data.steps.map((s) => (
              <tr key={s.key}>
                <td>
                  <button type="button" className="linklike" onClick={() => setSelected(s.key)}>
                    {s.key}
                  </button>
                </td>
                <td>
                  <span className={`badge state-${s.state}`}>{s.state}</span>
                </td>
                <td>{formatDuration(s.start, s.end)}</td>
                <td>{s.runId && <Link to={`/runs/${s.runId}`} className="mono">{s.runId.slice(0, 12)}</Link>}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </details>
    </section>
  );
}
