import { useState, type FormEvent } from "react";
import { Navigate, useSearchParams } from "react-router-dom";
import { API } from "../api/client";
import { ErrorBox } from "../components/Status";
import { safeNext } from "../lib/safeNext";
import { useSession } from "../session";

export function LoginPage() {
  const { me, config, login } = useSession();
  const [params] = useSearchParams();
  const next = safeNext(params.get("next"));
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const [error, setError] = useState<Error>();
  const [busy, setBusy] = useState(false);

  if (me) return <Navigate to={next} replace />;

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      await login(username, password);
    } catch (reason) {
      setError(reason as Error);
    } finally {
      setBusy(false);
    }
  };

  return (
    <section className="login">
      <h1>Sign in to Clew</h1>
      {config.password !== false && (
        <form onSubmit={submit} aria-label="Sign in">
          <label>
            User name
            <input
              name="username"
              autoComplete="username"
              value={username}
              onChange={(e) => setUsername(e.target.value)}
              required
              autoFocus
            />
          </label>
          <label>
            Password
            <input
              name="password"
              type="password"
              autoComplete="current-password"
              value={password}
              onChange={(e) => setPassword(e.target.value)}
              required
            />
          </label>
          <ErrorBox error={error} />
          <button type="submit" disabled={busy}>
            {busy ? "Signing in…" : "Sign in"}
          </button>
        </form>
      )}
      {config.oidc && (
        <a className="button secondary" href={`${API}/auth/oidc/login?next=${encodeURIComponent(next)}`}>
          Sign in with SSO
        </a>
      )}
    </section>
  );
}
