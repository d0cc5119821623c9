import { Link } from "react-router-dom";
import { stepEdges, stepLog, type Job } from "../../api/pipelines";
import { useApi } from "../../api/useApi";
import { ErrorBox, Loading } from "../../components/Status";
import { formatDuration, formatTime } from "../../components/format";
import type { PlacedNode } from "./dagLayout";

/** What one step run did: state, time, inputs and outputs, its run, and its log. */
export function StepPanel({
  node,
  pipelineRunId,
  job,
  live,
  onClose,
}: {
  node: PlacedNode;
  pipelineRunId: string;
  job: Job | undefined;
  live: boolean;
  onClose: () => void;
}) {
  const run = node.run;
  const edges = useApi(
    (signal) => (run?.runId ? stepEdges(pipelineRunId, [run.runId], signal) : Promise.resolve([])),
    [pipelineRunId, run?.runId, run?.state],
  );
  const log = useApi(
    (signal) => (job && run ? stepLog(job.id, run.key, signal) : Promise.resolve(undefined)),
    [job?.id, run?.key, run?.state, live ? Math.floor(Date.now() / 3000) : 0],
  );
  const inputs = edges.data?.filter((e) => e.type === "INPUT") ?? [];
  const outputs = edges.data?.filter((e) => e.type === "OUTPUT") ?? [];

  return (
    <aside className="step-panel" aria-labelledby="step-panel-title">
      <div className="step-panel-head">
        <h2 id="step-panel-title">{node.label}</h2>
        <button type="button" className="ghost" onClick={onClose} aria-label="Close step details">
          ×
        </button>
      </div>
      <dl className="kv">
        <dt>State</dt>
        <dd>
          <span className={`badge state-${node.state}`}>{node.state}</span>
        </dd>
        {node.hidden !== undefined && (
          <>
            <dt>Iterations</dt>
            <dd>{node.hidden} more iterations of {node.task}; the step runs list has them all.</dd>
          </>
        )}
        {run && (
          <>
            <dt>Duration</dt>
            <dd>{formatDuration(run.start, run.end) || (run.state === "RUNNING" ? "running" : "")}</dd>
            <dt>Started</dt>
            <dd>{formatTime(run.start)}</dd>
          </>
        )}
        {node.condition && (
          <>
            <dt>Runs if</dt>
            <dd className="mono">{node.condition}</dd>
          </>
        )}
        {node.isFinally && (
          <>
            <dt>Finally</dt>
            <dd>runs after everything else, whatever happened</dd>
          </>
        )}
        {run?.cachedFrom && (
          <>
            <dt>Cached from</dt>
            <dd>
              <Link to={`/runs/${run.cachedFrom}`} className="mono">
                {run.cachedFrom.slice(0, 12)}
              </Link>
            </dd>
          </>
        )}
        {run?.reason && (
          <>
            <dt>Reason</dt>
            <dd>{run.reason}</dd>
          </>
        )}
      </dl>
      {run?.runId && (
        <p>
          <Link className="button" to={`/runs/${run.runId}`}>
            Open step run
          </Link>{" "}
          <Link className="button secondary" to={`/lineage?run=${run.runId}`}>
            Lineage
          </Link>
        </p>
      )}
      {!run && node.hidden === undefined && <p className="empty">This step has no run {node.state === "PENDING" ? "yet" : ""}.</p>}
      {run && (
        <>
          <h3>Inputs</h3>
          <ErrorBox error={edges.error} />
          <table className="grid compact">
            <tbody>
              {Object.entries(run.params).map(([k, v]) => (
                <tr key={`p-${k}`}>
                  <th scope="row">{k}</th>
                  <td className="mono">{v}</td>
                </tr>
              ))}
              {inputs
                .filter((e) => !(e.name in run.params))
                .map((e) => (
                  <tr key={`i-${e.name}`}>
                    <th scope="row">{e.name}</th>
                    <td className="mono">sha256:{e.digest.slice(0, 16)}</td>
                  </tr>
                ))}
            </tbody>
          </table>
          {Object.keys(run.params).length === 0 && inputs.length === 0 && <p className="empty">none</p>}
          <h3>Outputs</h3>
          <table className="grid compact">
            <tbody>
              {outputs.map((e) => (
                <tr key={`o-${e.name}`}>
                  <th scope="row">{e.name}</th>
                  <td className="mono">sha256:{e.digest.slice(0, 16)}</td>
                </tr>
              ))}
              {outputs.length === 0 &&
                Object.entries(run.outputs).map(([k, v]) => (
                  <tr key={`t-${k}`}>
                    <th scope="row">{k}</th>
                    <td className="mono">{v}</td>
                  </tr>
                ))}
            </tbody>
          </table>
          {outputs.length === 0 && Object.keys(run.outputs).length === 0 && <p className="empty">none</p>}
          <h3>Log</h3>
          {!job && <p className="empty">Logs are kept for steps of server-run jobs; this run ran elsewhere, so what it printed went to its own terminal.</p>}
          {job && log.loading && !log.data && <Loading label="Reading the log" />}
          {job && <ErrorBox error={log.error} />}
          {job && log.data !== undefined && (log.data ? <pre className="preview step-log">{log.data}</pre> : <p className="empty">The step printed nothing.</p>)}
        </>
      )}
    </aside>
  );
}
