import { useEffect, useRef, useState, type FormEvent } from "react";
import { useSearchParams } from "react-router-dom";
import {
  createToken,
  listTokens,
  listUsers,
  revokeToken,
  type AccessToken,
  type CreatedToken,
} from "../../api/admin";
import { useApi } from "../../api/useApi";
import { Empty, ErrorBox, Loading } from "../../components/Status";
import { formatTime } from "../../components/format";
import { ConfirmButton } from "./ConfirmButton";
import { Done } from "./Done";
import { AdminPage } from "./AdminPage";
import { isRefused } from "./Refusal";
import { NAME_RULE, tokenState } from "./summary";
import { useAction } from "./useAction";

const EXPIRIES = [
  ["", "Never"],
  [String(7 * 86400), "7 days"],
  [String(30 * 86400), "30 days"],
  [String(90 * 86400), "90 days"],
  [String(365 * 86400), "1 year"],
] as const;

/** Access tokens: everyone's or one user's, their use and expiry; make and revoke them. */
export function TokensPage() {
  const [search, setSearch] = useSearchParams();
  const user = search.get("user") ?? "";
  const users = useApi((signal) => listUsers(signal), []);
  const tokens = useApi((signal) => listTokens(user || undefined, signal), [user]);
  const [made, setMade] = useState<CreatedToken | null>(null);
  const revoking = useAction();

  const refused = isRefused(users.error) ? users.error : isRefused(tokens.error) ? tokens.error : undefined;
  const revoke = async (t: AccessToken) => {
    if (await revoking.run(() => revokeToken(t.id), `Revoked ${t.name} of ${t.user_name}.`)) tokens.reload();
  };
  const now = Date.now();

  const form = (
    <CreateToken
      users={users.data?.filter((u) => !u.disabled).map((u) => u.name) ?? []}
      preset={user}
      onMade={(t) => {
        setMade(t);
        tokens.reload();
      }}
    />
  );
  return (
    <AdminPage
      title="Tokens"
      what="Managing everyone's tokens"
      error={refused}
      before={made && <SecretOnce token={made} onDone={() => setMade(null)} />}
      aside={form}
    >
      <div className="toolbar">
        <label className="inline">
          Show tokens of&nbsp;
          <select
            value={user}
            onChange={(e) => setSearch(e.target.value ? { user: e.target.value } : {})}
          >
            <option value="">everyone</option>
            {users.data?.map((u) => (
              <option key={u.id} value={u.name}>
                {u.name}
              </option>
            ))}
          </select>
        </label>
      </div>
      <ErrorBox error={tokens.error ?? users.error} />
      <ErrorBox error={revoking.error} />
      <Done text={revoking.done} />
      {tokens.loading && !tokens.data ? (
        <Loading label="Loading tokens" />
      ) : tokens.data?.length === 0 ? (
        <Empty>No tokens.</Empty>
      ) : (
        <div className="table-scroll">
          <table className="grid">
            <caption className="visually-hidden">Access tokens</caption>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">User</th>
                <th scope="col">State</th>
                <th scope="col">Created</th>
                <th scope="col">Last used</th>
                <th scope="col">Expires</th>
                <th scope="col">
                  <span className="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {tokens.data?.map((t) => {
                const state = tokenState(t, now);
                return (
                  <tr key={t.id} className={state !== "active" ? "dim" : undefined}>
                    <td>
                      <strong title={`id ${t.id}`}>{t.name}</strong>
                    </td>
                    <td>{t.user_name}</td>
                    <td>
                      <span className={`badge token-${state}`}>
                        {state}
                        {state === "revoked" && t.revoked_at ? ` ${formatTime(t.revoked_at)}` : ""}
                      </span>
                    </td>
                    <td>
                      {formatTime(t.created_at)}
                      <div className="muted small">by {t.created_by}</div>
                    </td>
                    <td>{t.last_used_at ? formatTime(t.last_used_at) : <span className="muted">never</span>}</td>
                    <td>{t.expires_at ? formatTime(t.expires_at) : <span className="muted">never</span>}</td>
                    <td>
                      {state !== "revoked" && (
                        <ConfirmButton
                          label="Revoke"
                          confirm="Yes, revoke"
                          what={`Revoke ${t.name} of ${t.user_name}`}
                          disabled={revoking.busy}
                          onConfirm={() => void revoke(t)}
                        />
                      )}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
    </AdminPage>
  );
}

function CreateToken({
  users,
  preset,
  onMade,
}: {
  users: string[];
  preset: string;
  onMade: (token: CreatedToken) => void;
}) {
  const [user, setUser] = useState(preset);
  const [name, setName] = useState("");
  const [expiry, setExpiry] = useState("");
  const action = useAction();
  useEffect(() => setUser(preset), [preset]);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    let made: CreatedToken | undefined;
    const ok = await action.run(async () => {
      made = await createToken(user, name, expiry ? Number(expiry) : undefined);
    });
    if (ok && made) {
      setName("");
      onMade(made);
    }
  };

  return (
    <form className="admin-form" onSubmit={submit} aria-labelledby="new-token">
      <h2 id="new-token">New token</h2>
      <label>
        For user
        <select required value={user} onChange={(e) => setUser(e.target.value)}>
          <option value="" disabled>
            Choose a user
          </option>
          {users.map((u) => (
            <option key={u} value={u}>
              {u}
            </option>
          ))}
        </select>
      </label>
      <div className="field">
        <label>
          Token name
          <input
            required
            value={name}
            maxLength={250}
            autoComplete="off"
            aria-describedby="token-name-rule"
            onChange={(e) => setName(e.target.value)}
          />
        </label>
        <small id="token-name-rule" className="hint">
          What it is for, e.g. ci-deploy. {NAME_RULE}.
        </small>
      </div>
      <label>
        Expires after
        <select value={expiry} onChange={(e) => setExpiry(e.target.value)}>
          {EXPIRIES.map(([value, label]) => (
            <option key={value} value={value}>
              {label}
            </option>
          ))}
        </select>
      </label>
      <button type="submit" disabled={action.busy || !user || !name}>
        {action.busy ? "Creating…" : "Create token"}
      </button>
      <ErrorBox error={action.error} />
    </form>
  );
}

/** The new token's secret, this once: the server keeps only its hash. */
function SecretOnce({ token, onDone }: { token: CreatedToken; onDone: () => void }) {
  const [copied, setCopied] = useState("");
  const field = useRef<HTMLInputElement>(null);
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => box.current?.focus(), []);

  const copy = async () => {
    try {
      await navigator.clipboard.writeText(token.secret);
      setCopied("Copied to the clipboard.");
    } catch {
      field.current?.select();
      setCopied("Could not reach the clipboard: the secret is selected, press Ctrl+C.");
    }
  };

  return (
    <div className="secret-once" role="alert" tabIndex={-1} ref={box} aria-labelledby="secret-title">
      <h2 id="secret-title">
        Token {token.name} for {token.user_name}
      </h2>
      <p>
        <strong>Copy this secret now. It is shown only once</strong>: Clew keeps only its hash and cannot show
        it again. Anyone holding it acts as {token.user_name}.
      </p>
      <div className="secret-row">
        <label className="visually-hidden" htmlFor="token-secret">
          Token secret
        </label>
        <input id="token-secret" ref={field} className="mono" readOnly value={token.secret} onFocus={(e) => e.target.select()} />
        <button type="button" onClick={() => void copy()}>
          Copy
        </button>
        <button type="button" className="ghost" onClick={onDone}>
          I have copied it
        </button>
      </div>
      <p className="done" role="status" aria-live="polite">
        {copied}
      </p>
    </div>
  );
}
