import { useState, type FormEvent } from "react";
import { Link } from "react-router-dom";
import {
  createUser,
  listUsers,
  passwordRules,
  setPassword,
  updateUser,
  type NewUser,
  type PasswordRules,
  type User,
} from "../../api/admin";
import { useApi } from "../../api/useApi";
import { Empty, ErrorBox, Loading } from "../../components/Status";
import { formatTime } from "../../components/format";
import { ConfirmButton } from "./ConfirmButton";
import { Done } from "./Done";
import { AdminPage } from "./AdminPage";
import { NAME_RULE, passwordProblem } from "./summary";
import { useAction } from "./useAction";

/** People and service accounts: who exists, who is an admin; make new ones, promote, disable
 * and enable them, set a password. */
export function UsersPage() {
  const users = useApi((signal) => listUsers(signal), []);
  // Read once for the page: the new-user form and every row's password form check against it.
  const rules = limits(useApi((signal) => passwordRules(signal), []).data);
  const action = useAction();
  const change = (u: User, what: { admin?: boolean; disabled?: boolean }, done: string) =>
    action.run(() => updateUser(u.name, what), done).then((ok) => ok && users.reload());
  return (
    <AdminPage title="Users" what="Managing users" error={users.error} aside={<CreateUser rules={rules} onMade={users.reload} />}>
      <ErrorBox error={users.error} />
      {users.loading && !users.data ? (
        <Loading label="Loading users" />
      ) : users.data?.length === 0 ? (
        <Empty>No users.</Empty>
      ) : (
        <div className="table-scroll">
          <table className="grid">
            <caption className="visually-hidden">Users and service accounts</caption>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Kind</th>
                <th scope="col">Display name</th>
                <th scope="col">Email</th>
                <th scope="col">Access</th>
                <th scope="col">Created</th>
                <th scope="col">Last sign-in</th>
                <th scope="col">Actions</th>
              </tr>
            </thead>
            <tbody>
              {users.data?.map((u) => (
                <tr key={u.id}>
                  <td>
                    <strong>{u.name}</strong>
                  </td>
                  <td>{u.kind === "service" ? "service account" : "person"}</td>
                  <td>{u.display_name}</td>
                  <td>{u.email}</td>
                  <td className="badges">
                    {u.is_admin && <span className="badge admin-badge">admin</span>}
                    {u.disabled && <span className="badge state-FAILED">disabled</span>}
                    {u.kind === "user" && !u.has_password && <span className="badge">no password</span>}
                  </td>
                  <td className="nowrap" title={`by ${u.created_by}`}>
                    {formatTime(u.created_at)}
                  </td>
                  <td className="nowrap">{u.last_login_at ? formatTime(u.last_login_at) : <span className="muted">never</span>}</td>
                  <td className="row-actions">
                    {u.is_admin ? (
                      <ConfirmButton label="Remove admin" confirm="Yes, remove admin" what={`Remove admin from ${u.name}`}
                        disabled={action.busy} onConfirm={() => change(u, { admin: false }, `${u.name} is no longer an admin.`)} />
                    ) : (
                      <button type="button" className="ghost" disabled={action.busy} aria-label={`Make ${u.name} an admin`}
                        onClick={() => change(u, { admin: true }, `${u.name} is an admin.`)}>
                        Make admin
                      </button>
                    )}
                    {u.disabled ? (
                      <button type="button" className="ghost" disabled={action.busy} aria-label={`Enable ${u.name}`}
                        onClick={() => change(u, { disabled: false }, `Enabled ${u.name}.`)}>
                        Enable
                      </button>
                    ) : (
                      <ConfirmButton label="Disable" confirm="Yes, disable" what={`Disable ${u.name} (revokes their tokens)`}
                        disabled={action.busy} onConfirm={() => change(u, { disabled: true }, `Disabled ${u.name}: their tokens are revoked.`)} />
                    )}
                    {u.kind === "user" && <PasswordReset user={u.name} rules={rules} onDone={users.reload} />}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <ErrorBox error={action.error} />
      <Done text={action.done} />
    </AdminPage>
  );
}

interface Limits {
  min: number;
  max: number;
}

/** The server's password length rules, with its defaults until they arrive. */
function limits(rules: PasswordRules | undefined): Limits {
  return { min: rules?.password_min_length ?? 12, max: rules?.password_max_length ?? 1024 };
}

/** "Set password": a one-field form in the row, checked against the server's rules. */
function PasswordReset({ user, rules, onDone }: { user: string; rules: Limits; onDone: () => void }) {
  const [open, setOpen] = useState(false);
  const [password, setValue] = useState("");
  const action = useAction();
  const problem = password ? passwordProblem(password, rules.min, rules.max) : "";
  if (!open) {
    return (
      <>
        <button type="button" className="ghost" aria-label={`Set the password of ${user}`} onClick={() => setOpen(true)}>
          Set password
        </button>
        <Done text={action.done} />
      </>
    );
  }
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (problem || !password) return;
    if (await action.run(() => setPassword(user, password), `Set the password of ${user}; their sessions ended.`)) {
      setValue("");
      setOpen(false);
      onDone();
    }
  };
  return (
    <form className="inline-form" onSubmit={submit} aria-label={`Set the password of ${user}`}
      onKeyDown={(e) => e.key === "Escape" && setOpen(false)}>
      <label>
        <span className="visually-hidden">New password for {user}</span>
        <input type="password" autoComplete="new-password" autoFocus value={password} placeholder="New password"
          aria-invalid={problem ? true : undefined} title={problem || undefined} onChange={(e) => setValue(e.target.value)} />
      </label>
      <button type="submit" disabled={action.busy || !password || Boolean(problem)}>Save</button>
      <button type="button" className="ghost" onClick={() => setOpen(false)}>Cancel</button>
      {problem && <small className="hint bad">{problem}</small>}
      <ErrorBox error={action.error} />
    </form>
  );
}

function CreateUser({ rules, onMade }: { rules: Limits; onMade: () => void }) {
  const { min, max } = rules;
  const blank: NewUser = { name: "", kind: "user", password: "", admin: false, display_name: "", email: "" };
  const [draft, setDraft] = useState<NewUser>(blank);
  const action = useAction();
  const service = draft.kind === "service";
  const problem = service || !draft.password ? "" : passwordProblem(draft.password, min, max);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (problem) return;
    const body: NewUser = { ...draft, password: service || !draft.password ? undefined : draft.password };
    const name = draft.name;
    if (await action.run(() => createUser(body), `Made ${service ? "service account" : "user"} ${name}.`)) {
      setDraft(blank);
      onMade();
    }
  };

  return (
    <form className="admin-form" onSubmit={submit} aria-labelledby="new-user">
      <h2 id="new-user">New user</h2>
      <fieldset className="choice">
        <legend>Kind</legend>
        <label className="inline">
          <input
            type="radio"
            name="kind"
            checked={!service}
            onChange={() => setDraft({ ...draft, kind: "user" })}
          />
          Person
        </label>
        <label className="inline">
          <input
            type="radio"
            name="kind"
            checked={service}
            onChange={() => setDraft({ ...draft, kind: "service", password: "" })}
          />
          Service account
        </label>
      </fieldset>
      <div className="field">
        <label>
          Name
          <input
            required
            value={draft.name}
            maxLength={250}
            autoComplete="off"
            aria-describedby="user-name-rule"
            onChange={(e) => setDraft({ ...draft, name: e.target.value })}
          />
        </label>
        <small id="user-name-rule" className="hint">
          {NAME_RULE}.
        </small>
      </div>
      {!service ? (
        <div className="field">
          <label>
            Password
            <input
              type="password"
              autoComplete="new-password"
              value={draft.password}
              aria-describedby="password-rule"
              aria-invalid={problem ? true : undefined}
              onChange={(e) => setDraft({ ...draft, password: e.target.value })}
            />
          </label>
          <small id="password-rule" className={problem ? "hint bad" : "hint"}>
            {problem ||
              `At least ${min} characters, not blank, at most ${max}. Leave empty to set one later.`}
          </small>
        </div>
      ) : (
        <p className="hint">A service account has no password: give it a token on the <Link to="/admin/tokens">Tokens</Link> page.</p>
      )}
      <label>
        Display name
        <input value={draft.display_name} maxLength={250} onChange={(e) => setDraft({ ...draft, display_name: e.target.value })} />
      </label>
      <label>
        Email
        <input type="email" value={draft.email} maxLength={320} onChange={(e) => setDraft({ ...draft, email: e.target.value })} />
      </label>
      <label className="inline check">
        <input type="checkbox" checked={draft.admin} onChange={(e) => setDraft({ ...draft, admin: e.target.checked })} />
        Admin (manages users, tokens, teams, roles; reads the audit log)
      </label>
      <button type="submit" disabled={action.busy || !draft.name || Boolean(problem)}>
        {action.busy ? "Creating…" : service ? "Create service account" : "Create user"}
      </button>
      <ErrorBox error={action.error} />
      <Done text={action.done} />
    </form>
  );
}
