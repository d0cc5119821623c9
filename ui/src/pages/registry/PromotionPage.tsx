import { useState } from "react";
import { Link, useParams } from "react-router-dom";
import {
  actOnRequest,
  auditEvents,
  getPolicy,
  getRequest,
  type Check,
  type PromotionRequest,
  type RequestAction,
} from "../../api/registry";
import { ApiError } from "../../api/client";
import { useApi } from "../../api/useApi";
import { ErrorBox, Loading } from "../../components/Status";
import { formatTime } from "../../components/format";
import { useSession } from "../../session";
import { PassFail, StateBadge } from "./bits";
import { approvalProgress, evidenceRows, requestActions, summarizeChecks } from "./lib";
import { modelHref, runHref, versionHref } from "./links";

const VERBS: Record<RequestAction, string> = {
  approve: "Approve",
  reject: "Reject",
  cancel: "Cancel request",
  apply: "Apply",
};

/** One promotion request: what it asks, the policy's checks and frozen evidence, who decided. */
export function PromotionPage() {
  const id = useParams().id ?? "";
  const { me } = useSession();
  const loaded = useApi((signal) => getRequest(id, signal), [id]);
  const [fresh, setFresh] = useState<PromotionRequest>();
  const request = fresh?.id === id ? fresh : loaded.data;
  const model = request?.model ?? "";
  const policy = useApi((signal) => (model ? getPolicy(model, signal) : Promise.resolve(undefined)), [model]);
  const [comment, setComment] = useState("");
  const [busy, setBusy] = useState<RequestAction | null>(null);
  const [error, setError] = useState<Error>();
  const [auditTick, setAuditTick] = useState(0);

  if (loaded.error) {
    return (
      <section className="registry">
        <h1>Promotion request</h1>
        <ErrorBox error={loaded.error} />
      </section>
    );
  }
  if (!request) return <Loading />;
  const r = request;
  const actions = requestActions(r, me);
  const required = policy.data?.policy?.approvals.required ?? null;
  const target = r.target_kind === "alias" ? `@${r.target}` : `stage ${r.target}`;

  const act = async (action: RequestAction) => {
    setBusy(action);
    setError(undefined);
    try {
      await actOnRequest(r.id, action, comment);
      setFresh(await getRequest(r.id)); // with what the caller may do next
      setComment("");
      setAuditTick((t) => t + 1); // an open audit trail reads the new event
    } catch (e) {
      setError(e as Error);
    } finally {
      setBusy(null);
    }
  };
  const shown = (["approve", "reject", "apply", "cancel"] as RequestAction[]).filter((a) => actions[a]);

  return (
    <section className="registry">
      <nav aria-label="Breadcrumb" className="crumbs">
        <Link to="/promotions">Promotion requests</Link> <span aria-hidden="true">/</span>
      </nav>
      <header className="page-head">
        <h1>
          Promote <Link to={modelHref(r.model)}>{r.model}</Link>{" "}
          <Link to={versionHref(r.model, r.version)}>v{r.version}</Link> to {target}
        </h1>
        <StateBadge state={r.state} />
      </header>

      <div className="two-col">
        <div>
          <dl className="kv facts">
            <div>
              <dt>Requested by</dt>
              <dd>
                {r.requested_by} on {formatTime(r.created_at)}
              </dd>
            </div>
            <div>
              <dt>Target</dt>
              <dd>
                {target}: v{r.version}
                {r.previous !== null ? ` (it held v${r.previous} when asked)` : " (unset when asked)"}
              </dd>
            </div>
            <div>
              <dt>Justification</dt>
              <dd className="justification">{r.justification}</dd>
            </div>
            <div>
              <dt>Policy</dt>
              <dd>version {r.policy_version}</dd>
            </div>
            {r.expires_at !== null && (
              <div>
                <dt>Expires</dt>
                <dd>{formatTime(r.expires_at)}</dd>
              </div>
            )}
            {r.decided_at !== null && (
              <div>
                <dt>Decided</dt>
                <dd>{formatTime(r.decided_at)}</dd>
              </div>
            )}
            {r.applied_at !== null && (
              <div>
                <dt>Applied</dt>
                <dd>
                  {formatTime(r.applied_at)} by {r.applied_by}
                </dd>
              </div>
            )}
          </dl>

          <ChecksSection title="Checks when requested" checks={r.checks} />
          {r.applied_checks && <ChecksSection title="Checks when applied" checks={r.applied_checks} />}
        </div>

        <aside>
          <h2>Decisions</h2>
          <p className="muted">{approvalProgress(r, required)}{policy.data?.policy ? ` by a ${policy.data.policy.approvals.role}` : ""}</p>
          {r.approvals.length === 0 ? (
            <p className="muted">Nobody has decided yet.</p>
          ) : (
            <ol className="decisions">
              {r.approvals.map((d) => (
                <li key={`${d.approver}-${d.at}`} className={`decision ${d.decision}`}>
                  <div>
                    <span className={`badge ${d.decision === "approve" ? "pass" : "fail"}`}>
                      {d.decision === "approve" ? "approved" : "rejected"}
                    </span>{" "}
                    <strong>{d.approver}</strong> <span className="muted">({d.role})</span>
                  </div>
                  <div className="muted">{formatTime(d.at)}</div>
                  {d.comment && <blockquote>{d.comment}</blockquote>}
                </li>
              ))}
            </ol>
          )}

          <div className="card decide" aria-labelledby="decide-title">
            <h3 id="decide-title">Act on this request</h3>
            {actions.note && <p className="muted">{actions.note}</p>}
            {shown.length === 0 ? (
              <p className="muted">Nothing to do: the request is {r.state}.</p>
            ) : (
              <>
                {(actions.approve || actions.reject) && (
                  <label>
                    Comment
                    <textarea rows={2} value={comment} maxLength={4000} onChange={(e) => setComment(e.target.value)} />
                  </label>
                )}
                <div className="toolbar">
                  {shown.map((a) => (
                    <button
                      key={a}
                      type="button"
                      className={a === "reject" || a === "cancel" ? "danger" : undefined}
                      disabled={busy !== null}
                      onClick={() => void act(a)}
                    >
                      {busy === a ? `${VERBS[a]}…` : VERBS[a]}
                    </button>
                  ))}
                </div>
              </>
            )}
            <ErrorBox error={error} />
          </div>

          <h2>Audit trail</h2>
          <AuditTrail id={r.id} tick={auditTick} />
        </aside>
      </div>
    </section>
  );
}

function ChecksSection({ title, checks }: { title: string; checks: Check[] }) {
  const summary = summarizeChecks(checks);
  return (
    <section aria-label={title}>
      <h2>
        {title} <span className={`badge ${summary.ok ? "pass" : "fail"}`}>{summary.text}</span>
      </h2>
      {checks.map((c) => {
        const rows = evidenceRows(c);
        return (
          <div key={c.name} className={`card check ${c.ok ? "ok" : "bad"}`}>
            <div className="card-head">
              <h3>{c.name}</h3>
              <PassFail ok={c.ok} />
            </div>
            <p>{c.detail}</p>
            {rows.length > 0 && (
              <table className="grid compact evidence" aria-label={`Evidence of the ${c.name} check`}>
                <tbody>
                  {rows.map((row) => (
                    <tr key={row.label}>
                      <th scope="row">{row.label}</th>
                      <td className={row.mono ? "mono digest" : undefined}>
                        {row.run ? <Link to={runHref(row.run)}>{row.value}</Link> : row.value}
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )}
          </div>
        );
      })}
    </section>
  );
}

/** The request's events in the audit log, read when asked for (the log is an admin's). */
function AuditTrail({ id, tick }: { id: string; tick: number }) {
  const [open, setOpen] = useState(false);
  if (!open) {
    return (
      <button type="button" className="secondary" onClick={() => setOpen(true)}>
        Show audit trail
      </button>
    );
  }
  return <AuditEvents id={id} tick={tick} />;
}

function AuditEvents({ id, tick }: { id: string; tick: number }) {
  const audit = useApi(
    (signal) => auditEvents({ resource_type: "promotion", resource_id: id, limit: 100 }, signal),
    [id, tick],
  );
  if (audit.error) {
    return audit.error instanceof ApiError && audit.error.status === 403 ? (
      <p className="muted">Reading the audit log is an admin's.</p>
    ) : (
      <ErrorBox error={audit.error} />
    );
  }
  if (!audit.data) return <Loading />;
  return (
    <ol className="plain audit-trail" aria-label="Audit events of this request">
      {[...audit.data.events].reverse().map((e) => (
        <li key={e.seq}>
          <span className="mono">{e.action}</span> by {e.actor}{" "}
          <span className="muted">
            {formatTime(e.time)} · #{e.seq}
          </span>
        </li>
      ))}
    </ol>
  );
}
