import { Link, useSearchParams } from "react-router-dom";
import { listRequests, searchModels } from "../../api/registry";
import { useApi } from "../../api/useApi";
import { Empty, ErrorBox, Loading } from "../../components/Status";
import { formatTime } from "../../components/format";
import { StateBadge } from "./bits";
import { summarizeChecks } from "./lib";
import { modelHref, requestHref, versionHref } from "./links";

const STATES = ["", "PENDING", "APPROVED", "APPLIED", "REJECTED", "CANCELED", "EXPIRED"];

/** Promotion requests, newest first, filtered by state and model (kept in the address). */
export function PromotionsPage() {
  const [params, setParams] = useSearchParams();
  const state = params.get("state") ?? "";
  const model = params.get("model") ?? "";
  const set = (key: string, value: string) => {
    const next = new URLSearchParams(params);
    if (value) next.set(key, value);
    else next.delete(key);
    setParams(next, { replace: true });
  };
  const models = useApi((signal) => searchModels({ max_results: 1000 }, signal), []);
  const names = (models.data?.registered_models ?? []).map((m) => m.name);
  if (model && !names.includes(model)) names.unshift(model);
  const { data, error, loading } = useApi(
    (signal) => listRequests({ state, model, limit: 500 }, signal),
    [state, model],
  );

  return (
    <section className="registry">
      <h1>Promotion requests</h1>
      <form className="toolbar" role="search" onSubmit={(e) => e.preventDefault()}>
        <label className="inline">
          State
          <select value={state} onChange={(e) => set("state", e.target.value)}>
            {STATES.map((s) => (
              <option key={s} value={s}>
                {s || "any"}
              </option>
            ))}
          </select>
        </label>
        <label className="inline">
          Model
          <select value={model} onChange={(e) => set("model", e.target.value)}>
            <option value="">any</option>
            {names.map((n) => (
              <option key={n} value={n}>
                {n}
              </option>
            ))}
          </select>
        </label>
      </form>
      <ErrorBox error={error} />
      {loading && !data ? (
        <Loading />
      ) : !data || data.requests.length === 0 ? (
        !error && <Empty>No promotion requests{state || model ? " match" : " yet"}.</Empty>
      ) : (
        <table className="grid">
          <thead>
            <tr>
              <th scope="col">Request</th>
              <th scope="col">State</th>
              <th scope="col">Model version</th>
              <th scope="col">Target</th>
              <th scope="col">Checks</th>
              <th scope="col">Approvals</th>
              <th scope="col">Requested</th>
            </tr>
          </thead>
          <tbody>
            {data.requests.map((r) => {
              const checks = summarizeChecks(r.checks);
              return (
                <tr key={r.id}>
                  <td>
                    <Link to={requestHref(r.id)} className="mono">
                      {r.id.slice(0, 8)}
                    </Link>
                    <div className="muted clip">{r.justification}</div>
                  </td>
                  <td>
                    <StateBadge state={r.state} />
                  </td>
                  <td>
                    <Link to={modelHref(r.model)}>{r.model}</Link>{" "}
                    <Link to={versionHref(r.model, r.version)}>v{r.version}</Link>
                  </td>
                  <td>
                    {r.target_kind === "alias" ? `@${r.target}` : `stage ${r.target}`}
                    {r.previous !== null && <span className="muted"> (was v{r.previous})</span>}
                  </td>
                  <td>
                    <span className={`badge ${checks.ok ? "pass" : "fail"}`}>
                      {checks.passed}/{checks.total}
                    </span>
                  </td>
                  <td>{r.approvals.filter((d) => d.decision === "approve").length}</td>
                  <td>
                    {r.requested_by}
                    <div className="muted">{formatTime(r.created_at)}</div>
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
    </section>
  );
}
