/** Small pieces the registry pages share: alias and tag chips, stage and state badges. */
import { Link } from "react-router-dom";
import type { PromotionRequest } from "../../api/registry";
import { formatTime } from "../../components/format";
import { requestHref, versionHref } from "./links";

export function AliasChips({ model, aliases }: { model: string; aliases: Record<string, number> }) {
  const entries = Object.entries(aliases).sort(([a], [b]) => a.localeCompare(b));
  if (entries.length === 0) return <span className="muted">none</span>;
  return (
    <ul className="chips" aria-label="Aliases">
      {entries.map(([alias, version]) => (
        <li key={alias}>
          <Link className="chip alias" to={versionHref(model, version)} title={`@${alias} → version ${version}`}>
            @{alias} <span className="muted">v{version}</span>
          </Link>
        </li>
      ))}
    </ul>
  );
}

export function AliasList({ aliases }: { aliases: string[] }) {
  if (aliases.length === 0) return <span className="muted">none</span>;
  return (
    <ul className="chips" aria-label="Aliases">
      {[...aliases].sort().map((a) => (
        <li key={a}>
          <span className="chip alias">@{a}</span>
        </li>
      ))}
    </ul>
  );
}

export function TagChips({ tags, hidePrefix = ["clew.", "mlflow.", "model_card."] }: {
  tags: Record<string, string>;
  hidePrefix?: string[];
}) {
  const entries = Object.entries(tags)
    .filter(([k]) => !hidePrefix.some((p) => k.startsWith(p)))
    .sort(([a], [b]) => a.localeCompare(b));
  if (entries.length === 0) return <span className="muted">none</span>;
  return (
    <ul className="chips" aria-label="Tags">
      {entries.map(([k, v]) => (
        <li key={k} className="chip tag" title={`${k} = ${v}`}>
          <span className="tag-key">{k}</span>
          {v && <span className="tag-value">{v}</span>}
        </li>
      ))}
    </ul>
  );
}

export function StageBadge({ stage }: { stage: string }) {
  if (!stage || stage === "None") return <span className="muted">None</span>;
  return <span className={`badge stage-${stage}`}>{stage}</span>;
}

export function StateBadge({ state }: { state: string }) {
  return <span className={`badge state-${state}`}>{state}</span>;
}

export function PassFail({ ok }: { ok: boolean }) {
  return <span className={`badge ${ok ? "pass" : "fail"}`}>{ok ? "pass" : "fail"}</span>;
}

/** Every tag of a model or version as a key/value list. */
export function TagTable({ tags }: { tags: [string, string][] }) {
  if (tags.length === 0) return <p className="muted">No tags.</p>;
  return (
    <dl className="kv">
      {tags.map(([k, v]) => (
        <div key={k}>
          <dt className="mono">{k}</dt>
          <dd>{v}</dd>
        </div>
      ))}
    </dl>
  );
}

/** A short list of promotion requests: state, what they ask, who asked when. */
export function RequestList({ requests, withVersion = true }: { requests: PromotionRequest[]; withVersion?: boolean }) {
  return (
    <ul className="plain">
      {requests.map((r) => (
        <li key={r.id}>
          <StateBadge state={r.state} />{" "}
          <Link to={requestHref(r.id)}>
            {withVersion ? `v${r.version} ` : ""}→ {r.target_kind === "alias" ? `@${r.target}` : r.target}
          </Link>{" "}
          <span className="muted">
            by {r.requested_by}, {formatTime(r.created_at)}
          </span>
        </li>
      ))}
    </ul>
  );
}
