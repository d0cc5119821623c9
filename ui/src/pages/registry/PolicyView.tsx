import type { PolicyAnswer } from "../../api/registry";

/** A model's policy: what it protects and asks for, in words, and its YAML as text. */
export function PolicyView({ answer }: { answer: PolicyAnswer }) {
  const p = answer.policy;
  if (!p) {
    return <p className="muted">No policy: every alias and stage moves directly.</p>;
  }
  const protectedNames = [...p.protect.aliases.map((a) => `@${a}`), ...p.protect.stages];
  const metrics = Object.entries(p.metrics);
  return (
    <div className="policy">
      <ul className="plain policy-summary">
        <li>
          <strong>Protects</strong> {protectedNames.length ? protectedNames.join(", ") : "nothing"}
        </li>
        <li>
          <strong>Approvals</strong> {p.approvals.required} by a {p.approvals.role} (never the requester)
        </li>
        {metrics.length > 0 && (
          <li>
            <strong>Metrics</strong> {metrics.map(([k, t]) => `${k} ${t}`).join(", ")}
          </li>
        )}
        {p.tags.length > 0 && (
          <li>
            <strong>Tags</strong> {p.tags.join(", ")}
          </li>
        )}
        {p.lineage.datasets && <li>Its run read a logged data set</li>}
        {p.digests && <li>Its files still match their digests</li>}
        {p.expires_after_days !== null && <li>Requests expire after {p.expires_after_days} days</li>}
      </ul>
      <details open>
        <summary>Policy version {answer.version} (YAML)</summary>
        <pre className="preview mono">{answer.document}</pre>
      </details>
    </div>
  );
}
