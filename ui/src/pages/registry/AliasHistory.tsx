import { useState } from "react";
import { Link } from "react-router-dom";
import { aliasHistory, aliasProvenance, type AliasMove } from "../../api/registry";
import { useApi } from "../../api/useApi";
import { ErrorBox, Loading } from "../../components/Status";
import { formatTime } from "../../components/format";
import { aliasTracks, describeMove, stageChanges, timelineSegments, type AliasTrack } from "./lib";
import { requestHref, versionHref } from "./links";

/**
 * Each alias of a model with its history: a timeline of which version held it when, every move
 * with who made it and when, and on request the provenance of a move (the promotion request
 * that approved it, its approvers and evidence).
 */
export function AliasHistory({ model, moves }: { model: string; moves: AliasMove[] }) {
  const tracks = aliasTracks(moves);
  const stages = stageChanges(moves);
  const [now] = useState(() => Date.now());
  const [asOf, setAsOf] = useState<number | null>(null);
  if (tracks.length === 0 && stages.length === 0) {
    return <p className="muted">No alias has been set on this model yet.</p>;
  }
  const axis = timelineSegments(tracks, now);
  const marker = asOf === null || asOf < axis.start ? null : ((asOf - axis.start) / (axis.end - axis.start)) * 100;
  return (
    <div className="alias-history">
      <AsOf model={model} at={asOf} onChange={setAsOf} />
      {tracks.length > 0 && (
        <figure className="timeline" aria-label="Which version each alias pointed at over time">
          {axis.rows.map((row) => (
            <div className="timeline-row" key={row.alias}>
              <span className="timeline-label">@{row.alias}</span>
              <div className="timeline-track">
                {marker !== null && marker <= 100 && (
                  <span className="timeline-marker" style={{ left: `${marker}%` }} aria-hidden="true" />
                )}
                {row.segments.map((s) => (
                  <Link
                    key={`${s.from}-${s.version}`}
                    to={versionHref(model, s.version)}
                    className={`timeline-seg vc-${s.version % 8}`}
                    style={{ left: `${s.left}%`, width: `${s.width}%` }}
                    title={`@${row.alias} = v${s.version} from ${formatTime(s.from)}${
                      s.until ? ` until ${formatTime(s.until)}` : " (now)"
                    }`}
                  >
                    v{s.version}
                  </Link>
                ))}
              </div>
            </div>
          ))}
          <figcaption className="timeline-axis muted">
            <span>{formatTime(axis.start)}</span>
            <span>now</span>
          </figcaption>
        </figure>
      )}
      {tracks.map((track) => (
        <AliasCard key={track.alias} model={model} track={track} />
      ))}
      {stages.length > 0 && (
        <>
          <h3>Stage changes</h3>
          <MovesTable model={model} moves={stages} />
        </>
      )}
    </div>
  );
}

function AliasCard({ model, track }: { model: string; track: AliasTrack }) {
  return (
    <section className="card alias-card" aria-labelledby={`alias-${track.alias}`}>
      <header className="card-head">
        <h3 id={`alias-${track.alias}`}>@{track.alias}</h3>
        {track.current === null ? (
          <span className="muted">removed</span>
        ) : (
          <span>
            now <Link to={versionHref(model, track.current)}>v{track.current}</Link>
          </span>
        )}
      </header>
      <MovesTable model={model} moves={track.moves} alias={track.alias} />
    </section>
  );
}

function MovesTable({ model, moves, alias }: { model: string; moves: AliasMove[]; alias?: string }) {
  const [open, setOpen] = useState<number | null>(null);
  return (
    <table className="grid compact">
      <thead>
        <tr>
          <th scope="col">When</th>
          <th scope="col">Who</th>
          <th scope="col">Change</th>
          {alias && <th scope="col">Approved by</th>}
        </tr>
      </thead>
      <tbody>
        {moves.map((m) => (
          <tr key={m.seq}>
            <td>{formatTime(m.time)}</td>
            <td>{m.actor}</td>
            <td>{describeMove(m)}</td>
            {alias && (
              <td>
                {m.version === null ? (
                  <span className="muted">—</span>
                ) : open === m.seq ? (
                  <MoveProvenance model={model} alias={alias} at={m.time} />
                ) : (
                  <button
                    type="button"
                    className="linkish"
                    onClick={() => setOpen(m.seq)}
                    aria-label={`Provenance of @${alias} moved to v${m.version} at ${formatTime(m.time)}`}
                  >
                    Show provenance
                  </button>
                )}
              </td>
            )}
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** The request that approved the move in effect at ``at``, read when asked for. */
function MoveProvenance({ model, alias, at }: { model: string; alias: string; at: number }) {
  const { data, error } = useApi((signal) => aliasProvenance(model, alias, at, signal), [model, alias, at]);
  if (error) return <ErrorBox error={error} />;
  if (!data) return <Loading label="Reading the audit chain" />;
  const p = data.promotion;
  if (!p) return <span className="muted">moved directly (no promotion request)</span>;
  const approvers = p.approvals.filter((d) => d.decision === "approve").map((d) => d.approver);
  return (
    <span>
      <Link to={requestHref(p.id)}>request by {p.requested_by}</Link>
      {approvers.length > 0 && <>, approved by {approvers.join(", ")}</>}
      {p.applied_by && <>, applied by {p.applied_by}</>}
    </span>
  );
}

/** "2026-12-04T14:00" in the browser's zone ↔ UTC ms. */
function toLocalInput(ms: number): string {
  const d = new Date(ms - new Date(ms).getTimezoneOffset() * 60_000);
  return d.toISOString().slice(0, 16);
}

/** Which version every alias held at a moment, answered by the server from the audit log. */
function AsOf({ model, at, onChange }: { model: string; at: number | null; onChange: (at: number | null) => void }) {
  const { data, error } = useApi(
    (signal) => (at === null ? Promise.resolve(undefined) : aliasHistory(model, signal, at)),
    [model, at],
  );
  const held = Object.entries(data?.aliases_at ?? {}).sort(([a], [b]) => a.localeCompare(b));
  return (
    <div className="as-of toolbar">
      <label className="inline">
        Aliases as of
        <input
          type="datetime-local"
          value={at === null ? "" : toLocalInput(at)}
          onChange={(e) => onChange(e.target.value ? new Date(e.target.value).getTime() : null)}
        />
      </label>
      {at !== null && (
        <button type="button" className="ghost" onClick={() => onChange(null)}>
          Clear
        </button>
      )}
      <span role="status" aria-live="polite">
        {at === null ? null : error ? null : !data ? "…" : held.length === 0 ? (
          <span className="muted">no alias was set then</span>
        ) : (
          held.map(([alias, version]) => (
            <Link key={alias} className="chip alias" to={versionHref(model, version)}>
              @{alias} <span className="muted">v{version}</span>
            </Link>
          ))
        )}
      </span>
      <ErrorBox error={error} />
    </div>
  );
}
