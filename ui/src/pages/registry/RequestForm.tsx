import { useState } from "react";
import { useNavigate } from "react-router-dom";
import { openRequest, type ModelVersion, type PolicyAnswer } from "../../api/registry";
import { ErrorBox } from "../../components/Status";
import { requestHref } from "./links";

/** Ask to point a protected alias (or stage) at this version, with a justification. */
export function RequestForm({ version, policy }: { version: ModelVersion; policy: PolicyAnswer }) {
  const navigate = useNavigate();
  const aliases = policy.policy?.protect.aliases ?? [];
  const stages = policy.policy?.protect.stages ?? [];
  const [kind, setKind] = useState<"alias" | "stage">(aliases.length || !stages.length ? "alias" : "stage");
  const [target, setTarget] = useState<string | null>(null);
  const [why, setWhy] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<Error>();
  const chosen = target ?? ((kind === "alias" ? aliases[0] : stages[0]) || "");

  if (!policy.policy) {
    return (
      <div className="card request-form">
        <h3>Request a promotion</h3>
        <p className="muted">
          This model has no policy, so nothing is protected: aliases and stages move directly, without
          a request.
        </p>
      </div>
    );
  }

  const submit = async (event: React.FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      const made = await openRequest({
        model: version.name,
        version: version.version,
        ...(kind === "alias" ? { alias: chosen } : { stage: chosen }),
        justification: why,
      });
      navigate(requestHref(made.id));
    } catch (e) {
      setError(e as Error);
      setBusy(false);
    }
  };

  return (
    <form className="card request-form" onSubmit={(e) => void submit(e)} aria-labelledby="request-title">
      <h3 id="request-title">Request a promotion</h3>
      <p className="muted">
        Protected here: {[...aliases.map((a) => `@${a}`), ...stages].join(", ") || "nothing"}. The policy's
        checks run when you ask, and their evidence is frozen into the request.
      </p>
      <fieldset className="inline-choice">
        <legend>Target</legend>
        <label className="inline">
          <input type="radio" name="kind" checked={kind === "alias"} onChange={() => { setKind("alias"); setTarget(null); }} /> Alias
        </label>
        <label className="inline">
          <input type="radio" name="kind" checked={kind === "stage"} onChange={() => { setKind("stage"); setTarget(null); }} /> Stage
        </label>
      </fieldset>
      <label>
        {kind === "alias" ? "Target alias" : "Target stage"}
        <input
          list={kind === "alias" ? "protected-aliases" : "protected-stages"}
          value={chosen}
          onChange={(e) => setTarget(e.target.value)}
          required
          maxLength={kind === "alias" ? 256 : 32}
        />
      </label>
      <datalist id="protected-aliases">
        {aliases.map((a) => (
          <option key={a} value={a} />
        ))}
      </datalist>
      <datalist id="protected-stages">
        {stages.map((s) => (
          <option key={s} value={s} />
        ))}
      </datalist>
      <label>
        Justification
        <textarea value={why} onChange={(e) => setWhy(e.target.value)} required maxLength={4000} rows={3}
          placeholder="Why this version, on what evidence" />
      </label>
      <ErrorBox error={error} />
      <button type="submit" disabled={busy || !chosen || !why.trim()}>
        {busy ? "Running the policy's checks…" : "Request promotion"}
      </button>
    </form>
  );
}
