import { useState } from "react";
import { getVersion, submitJob, type Job, type PipelineVersion } from "../../api/pipelines";
import { useApi } from "../../api/useApi";
import { ErrorBox, Loading } from "../../components/Status";
import { defaultText, fieldKind, parseParams } from "./paramFields";

/** Queue a job of a pipeline version, with its parameters filled from the graph's defaults. */
export function StartJobForm({
  version,
  onStarted,
  onCancel,
}: {
  version: PipelineVersion;
  onStarted: (job: Job) => void;
  onCancel: () => void;
}) {
  const full = useApi((signal) => getVersion(version.digest, signal), [version.digest]);
  const [texts, setTexts] = useState<Record<string, string>>({});
  const [cache, setCache] = useState(true);
  const [problems, setProblems] = useState<string[]>([]);
  const [error, setError] = useState<Error>();
  const [busy, setBusy] = useState(false);
  const params = full.data?.spec?.params ?? [];

  const submit = async (event: React.FormEvent) => {
    event.preventDefault();
    const parsed = parseParams(params, texts);
    if (!parsed.ok) {
      setProblems(parsed.errors);
      return;
    }
    setProblems([]);
    setBusy(true);
    setError(undefined);
    try {
      onStarted(await submitJob({ pipeline: version.pipeline, digest: version.digest, params: parsed.values, cache }));
    } catch (reason) {
      setError(reason as Error);
    } finally {
      setBusy(false);
    }
  };

  const id = (name: string) => `param-${version.digest.slice(0, 8)}-${name}`;
  return (
    <form className="start-job" onSubmit={submit} aria-label={`Start ${version.pipeline}`}>
      <h3>
        Start {version.pipeline} <span className="mono">{version.digest.slice(0, 12)}</span>
      </h3>
      {full.loading && <Loading label="Reading the definition" />}
      <ErrorBox error={full.error} />
      {full.data && params.length === 0 && <p className="empty">This pipeline takes no parameters.</p>}
      <div className="param-grid">
        {params.map((param) => {
          const kind = fieldKind(param);
          const value = texts[param.name] ?? defaultText(param);
          const set = (v: string) => setTexts((t) => ({ ...t, [param.name]: v }));
          const hint = `${param.type ?? "any"}${"default" in param ? "" : ", required"}`;
          return (
            <div key={param.name} className="param-field">
              <label htmlFor={id(param.name)}>
                <span>
                  {param.name} <span className="hint">{hint}</span>
                </span>
              </label>
              {kind === "boolean" ? (
                <input id={id(param.name)} type="checkbox" checked={value === "true"} onChange={(e) => set(e.target.checked ? "true" : "false")} />
              ) : kind === "json" ? (
                <textarea id={id(param.name)} className="mono" rows={Math.min(8, value.split("\n").length)} value={value} onChange={(e) => set(e.target.value)} />
              ) : (
                <input
                  id={id(param.name)}
                  type={kind === "text" ? "text" : "number"}
                  step={kind === "integer" ? 1 : "any"}
                  value={value}
                  onChange={(e) => set(e.target.value)}
                />
              )}
            </div>
          );
        })}
      </div>
      <label className="inline">
        <input type="checkbox" checked={cache} onChange={(e) => setCache(e.target.checked)} /> use the step cache
      </label>
      {problems.length > 0 && (
        <ul className="error-box" role="alert">
          {problems.map((p) => (
            <li key={p}>{p}</li>
          ))}
        </ul>
      )}
      <ErrorBox error={error} />
      <p className="hint">
        The server runs only steps from the modules in its <span className="mono">CLEW_PIPELINE_MODULES</span>; it refuses others.
      </p>
      <div className="toolbar">
        <button type="submit" disabled={busy || !full.data}>
          {busy ? "Starting…" : "Start job"}
        </button>
        <button type="button" className="ghost" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}
