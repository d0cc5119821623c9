import { useMemo, useState } from "react";
import { Link } from "react-router-dom";
import {
  cancelJob,
  JOB_TERMINAL,
  listJobs,
  listVersions,
  resumeJob,
  searchPipelineRuns,
  STATE_TAG,
  type Job,
  type PipelineVersion,
} from "../../api/pipelines";
import { useApi } from "../../api/useApi";
import { Empty, ErrorBox, Loading } from "../../components/Status";
import { formatDuration, formatTime } from "../../components/format";
import { SchedulesSection } from "./SchedulesSection";
import { StartJobForm } from "./StartJobForm";
import { usePolled } from "./usePolled";
import "./pipelines.css";

const POLL_MS = 1500;

function runState(tags: Record<string, string>, status: string): string {
  return tags[STATE_TAG] ?? (status === "FINISHED" ? "SUCCEEDED" : status);
}

function PipelineList({ versions, runPipelines, onStart }: { versions: PipelineVersion[]; runPipelines: string[]; onStart: (v: PipelineVersion) => void }) {
  const byName = new Map<string, PipelineVersion[]>();
  for (const v of versions) byName.set(v.pipeline, [...(byName.get(v.pipeline) ?? []), v]);
  for (const name of runPipelines) if (!byName.has(name)) byName.set(name, []);
  const names = [...byName.keys()].sort();
  if (names.length === 0) return <Empty>No pipelines yet: run one (clew pipelines run module:pipeline) or register a version.</Empty>;
  return (
    <table className="grid">
      <thead>
        <tr>
          <th>Pipeline</th>
          <th>Versions (digest, registered)</th>
        </tr>
      </thead>
      <tbody>
        {names.map((name) => {
          const list = byName.get(name) ?? [];
          return (
            <tr key={name}>
              <td>
                <strong>{name}</strong>
              </td>
              <td>
                {list.length === 0 ? (
                  <span className="hint">run locally; no version registered on the server</span>
                ) : (
                  <ul className="versions">
                    {list.map((v, i) => (
                      <li key={v.digest}>
                        <span className="mono" title={v.digest}>
                          {v.digest.slice(0, 12)}
                        </span>{" "}
                        {formatTime(v.created_at)} by {v.created_by}
                        {i === 0 && <span className="badge">newest</span>}{" "}
                        <button type="button" className="secondary small" onClick={() => onStart(v)} aria-label={`Start ${name} ${v.digest.slice(0, 12)}`}>
                          Start…
                        </button>
                      </li>
                    ))}
                  </ul>
                )}
              </td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}

function JobActions({ job, onChanged }: { job: Job; onChanged: (error?: Error) => void }) {
  const [busy, setBusy] = useState(false);
  const act = async (call: () => Promise<Job>) => {
    setBusy(true);
    try {
      await call();
      onChanged();
    } catch (error) {
      onChanged(error as Error);
    } finally {
      setBusy(false);
    }
  };
  const live = !JOB_TERMINAL.includes(job.state);
  return (
    <span className="row-actions">
      {live && (
        <button type="button" className="ghost small" disabled={busy || job.cancel_requested} onClick={() => void act(() => cancelJob(job.id))} aria-label={`Cancel job ${job.id.slice(0, 12)}`}>
          {job.cancel_requested ? "Canceling…" : "Cancel"}
        </button>
      )}
      {(job.state === "FAILED" || job.state === "CANCELED") && job.run_id && (
        <button type="button" className="secondary small" disabled={busy} onClick={() => void act(() => resumeJob(job.id))} aria-label={`Resume job ${job.id.slice(0, 12)}`}>
          Resume
        </button>
      )}
    </span>
  );
}

export function PipelinesPage() {
  const versions = useApi((signal) => listVersions(undefined, signal), []);
  const runs = usePolled((signal) => searchPipelineRuns(undefined, 50, signal), [], POLL_MS, (found) =>
    found.some((r) => r.info.status === "RUNNING"),
  );
  const jobs = usePolled((signal) => listJobs({ limit: 50 }, signal), [], POLL_MS, (found) =>
    found.jobs.some((j) => !JOB_TERMINAL.includes(j.state)),
  );
  const [starting, setStarting] = useState<PipelineVersion>();
  const [actionError, setActionError] = useState<Error>();
  const runPipelines = useMemo(
    () => [...new Set((runs.data ?? []).map((r) => r.data.tags["clew.pipeline"]).filter(Boolean))],
    [runs.data],
  );
  const pipelineNames = useMemo(
    () => [...new Set([...(versions.data?.versions ?? []).map((v) => v.pipeline)])].sort(),
    [versions.data],
  );

  return (
    <section className="pipelines-page">
      <h1>Pipelines</h1>
      <h2 id="pipelines-h">Pipelines and versions</h2>
      {versions.loading && !versions.data && <Loading />}
      <ErrorBox error={versions.error} />
      {versions.data && runs.data && (
        <PipelineList versions={versions.data.versions} runPipelines={runPipelines} onStart={setStarting} />
      )}
      {starting && (
        <StartJobForm
          key={starting.digest}
          version={starting}
          onCancel={() => setStarting(undefined)}
          onStarted={() => {
            setStarting(undefined);
            jobs.reload();
          }}
        />
      )}

      <h2>
        Recent runs {runs.polling && <span className="live" role="status">live</span>}
      </h2>
      <ErrorBox error={runs.error} />
      {!runs.data && !runs.error && <Loading />}
      {runs.data && runs.data.length === 0 && <Empty>No pipeline runs yet.</Empty>}
      {runs.data && runs.data.length > 0 && (
        <table className="grid" aria-label="Recent pipeline runs">
          <thead>
            <tr>
              <th>Run</th>
              <th>Pipeline</th>
              <th>State</th>
              <th>Started</th>
              <th>Duration</th>
            </tr>
          </thead>
          <tbody>
            {runs.data.map((run) => {
              const state = runState(run.data.tags, run.info.status);
              return (
                <tr key={run.info.run_id}>
                  <td>
                    <Link to={`/pipelines/runs/${run.info.run_id}`} className="mono">
                      {run.info.run_id.slice(0, 12)}
                    </Link>
                  </td>
                  <td>{run.data.tags["clew.pipeline"]}</td>
                  <td>
                    <span className={`badge state-${state}`}>{state}</span>
                  </td>
                  <td>{formatTime(run.info.start_time)}</td>
                  <td>{formatDuration(run.info.start_time, run.info.end_time ?? (state === "RUNNING" ? Date.now() : null))}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}

      <h2>
        Jobs <span className="hint">(run by the server)</span> {jobs.polling && <span className="live" role="status">live</span>}
      </h2>
      <ErrorBox error={jobs.error ?? actionError} />
      {jobs.data && jobs.data.jobs.length === 0 && <Empty>No jobs: start one from a registered version above, or with clew pipelines submit.</Empty>}
      {jobs.data && jobs.data.jobs.length > 0 && (
        <table className="grid" aria-label="Pipeline jobs">
          <thead>
            <tr>
              <th>Job</th>
              <th>Pipeline</th>
              <th>State</th>
              <th>Requested</th>
              <th>Duration</th>
              <th>Run</th>
              <th>
                <span className="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {jobs.data.jobs.map((job) => (
              <tr key={job.id}>
                <td className="mono" title={job.message || undefined}>
                  {job.id.slice(0, 12)}
                </td>
                <td>
                  {job.pipeline} <span className="mono hint">{job.digest.slice(0, 8)}</span>
                </td>
                <td>
                  <span className={`badge state-${job.state}`}>{job.state}</span>
                  {job.message && <div className="hint clamp">{job.message}</div>}
                </td>
                <td>
                  {formatTime(job.created_at)} by {job.requested_by}
                  {job.schedule_id && <div className="hint">by a schedule</div>}
                </td>
                <td>{formatDuration(job.started_at, job.ended_at ?? (job.state === "RUNNING" ? Date.now() : null))}</td>
                <td>{job.run_id && <Link to={`/pipelines/runs/${job.run_id}`}>DAG</Link>}</td>
                <td>
                  <JobActions
                    job={job}
                    onChanged={(error) => {
                      setActionError(error);
                      jobs.reload();
                    }}
                  />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}

      <SchedulesSection pipelines={pipelineNames} />
    </section>
  );
}
