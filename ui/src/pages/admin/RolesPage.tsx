import { useState, type FormEvent } from "react";
import {
  grantRole,
  listBindings,
  listTeams,
  listUsers,
  revokeRole,
  ROLES,
  SCOPES,
  scopeChoices,
  type Grant,
  type RoleBinding,
} from "../../api/admin";
import { useApi } from "../../api/useApi";
import { Empty, ErrorBox, Loading } from "../../components/Status";
import { formatTime } from "../../components/format";
import { ConfirmButton } from "./ConfirmButton";
import { Done } from "./Done";
import { AdminPage } from "./AdminPage";
import { useAction } from "./useAction";

const SCOPE_LABEL: Record<string, string> = {
  all: "everything",
  experiment: "experiment",
  registered_model: "registered model",
  pipeline: "pipeline",
};

const ROLE_ABOUT: Record<string, string> = {
  viewer: "reads",
  editor: "reads and writes",
  maintainer: "also deletes and manages",
  admin: "does everything",
};

export function scopeText(b: Pick<RoleBinding, "scope_type" | "scope_id">): string {
  return b.scope_type === "all" ? "everything" : `${SCOPE_LABEL[b.scope_type] ?? b.scope_type} ${b.scope_id}`;
}

/** Role bindings: who holds which role on what; grant and revoke. */
export function RolesPage() {
  const bindings = useApi((signal) => listBindings(signal), []);
  const action = useAction();

  const revoke = async (b: RoleBinding) => {
    const done = `Revoked ${b.role} of ${b.principal} on ${scopeText(b)}.`;
    if (await action.run(() => revokeRole(b), done)) bindings.reload();
  };

  return (
    <AdminPage title="Roles" what="Managing roles" error={bindings.error} aside={<GrantForm onGranted={bindings.reload} />}>
      <p className="muted">
        A user or team holds one role per scope; what a user may do is the best role any of their bindings, or
        their teams', gives on a scope that holds the thing. Admin users may do everything regardless.
      </p>
      <ErrorBox error={bindings.error} />
      <ErrorBox error={action.error} />
      <Done text={action.done} />
      {bindings.loading && !bindings.data ? (
        <Loading label="Loading role bindings" />
      ) : bindings.data?.length === 0 ? (
        <Empty>No role bindings yet.</Empty>
      ) : (
        <div className="table-scroll">
          <table className="grid">
            <caption className="visually-hidden">Role bindings</caption>
            <thead>
              <tr>
                <th scope="col">Who</th>
                <th scope="col">Role</th>
                <th scope="col">On</th>
                <th scope="col">Granted</th>
                <th scope="col">
                  <span className="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {bindings.data?.map((b) => (
                <tr key={b.id}>
                  <td>
                    <strong>{b.principal}</strong> <span className="badge kind">{b.principal_kind}</span>
                  </td>
                  <td>
                    <span className={`badge role-${b.role}`}>{b.role}</span>
                  </td>
                  <td>
                    {b.scope_type === "all" ? (
                      "everything"
                    ) : (
                      <>
                        <span className="muted">{SCOPE_LABEL[b.scope_type] ?? b.scope_type}</span>{" "}
                        <span className="mono">{b.scope_id}</span>
                      </>
                    )}
                  </td>
                  <td className="nowrap">
                    {formatTime(b.created_at)}
                    <div className="muted small">by {b.created_by}</div>
                  </td>
                  <td>
                    <ConfirmButton
                      label="Revoke"
                      confirm="Yes, revoke"
                      what={`Revoke ${b.role} of ${b.principal} on ${scopeText(b)}`}
                      disabled={action.busy}
                      onConfirm={() => void revoke(b)}
                    />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </AdminPage>
  );
}

function GrantForm({ onGranted }: { onGranted: () => void }) {
  const [draft, setDraft] = useState<Grant>({ principal: "", team: false, role: "viewer", scope_type: "all", scope_id: "" });
  const users = useApi((signal) => listUsers(signal), []);
  const teams = useApi((signal) => listTeams(signal), []);
  const choices = useApi((signal) => scopeChoices(draft.scope_type, signal), [draft.scope_type]);
  const action = useAction();
  const principals = draft.team ? (teams.data?.map((t) => t.name) ?? []) : (users.data?.map((u) => u.name) ?? []);
  const needsId = draft.scope_type !== "all";

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const body = { ...draft, scope_id: needsId ? draft.scope_id.trim() : "" };
    const done = `Granted ${body.role} to ${body.principal} on ${scopeText(body)}.`;
    if (await action.run(() => grantRole(body), done)) onGranted();
  };

  return (
    <form className="admin-form" onSubmit={submit} aria-labelledby="grant-title">
      <h2 id="grant-title">Grant a role</h2>
      <fieldset className="choice">
        <legend>Grant to</legend>
        <label className="inline">
          <input type="radio" name="principal-kind" checked={!draft.team} onChange={() => setDraft({ ...draft, team: false, principal: "" })} />
          A user
        </label>
        <label className="inline">
          <input type="radio" name="principal-kind" checked={draft.team} onChange={() => setDraft({ ...draft, team: true, principal: "" })} />
          A team
        </label>
      </fieldset>
      <div className="field">
        <label htmlFor="grant-principal">{draft.team ? "Team" : "User"}</label>
        <select
          id="grant-principal"
          required
          value={draft.principal}
          onChange={(e) => setDraft({ ...draft, principal: e.target.value })}
        >
          <option value="" disabled>
            Choose a {draft.team ? "team" : "user"}
          </option>
          {principals.map((p) => (
            <option key={p} value={p}>
              {p}
            </option>
          ))}
        </select>
      </div>
      <label>
        Role
        <select value={draft.role} onChange={(e) => setDraft({ ...draft, role: e.target.value as Grant["role"] })}>
          {ROLES.map((r) => (
            <option key={r} value={r}>
              {r} ({ROLE_ABOUT[r]})
            </option>
          ))}
        </select>
      </label>
      <label>
        Scope
        <select
          value={draft.scope_type}
          onChange={(e) => setDraft({ ...draft, scope_type: e.target.value as Grant["scope_type"], scope_id: "" })}
        >
          {SCOPES.map(([value, label]) => (
            <option key={value} value={value}>
              {label}
            </option>
          ))}
        </select>
      </label>
      {needsId && (
        <label>
          {draft.scope_type === "experiment" ? "Experiment ID" : draft.scope_type === "pipeline" ? "Pipeline name" : "Model name"}
          <input
            required
            list="scope-choices"
            value={draft.scope_id}
            maxLength={500}
            autoComplete="off"
            onChange={(e) => setDraft({ ...draft, scope_id: e.target.value })}
          />
          <datalist id="scope-choices">
            {choices.data?.map((c) => (
              <option key={c.id} value={c.id}>
                {c.label}
              </option>
            ))}
          </datalist>
        </label>
      )}
      <p className="hint">Granting replaces the role this {draft.team ? "team" : "user"} held on that scope.</p>
      <button type="submit" disabled={action.busy || !draft.principal || (needsId && !draft.scope_id.trim())}>
        {action.busy ? "Granting…" : "Grant role"}
      </button>
      <ErrorBox error={action.error} />
      <Done text={action.done} />
    </form>
  );
}
