import { useCallback, useEffect, useMemo, useRef, useState, type FormEvent } from "react";
import { Link, useSearchParams } from "react-router-dom";
import {
  auditExportUrl,
  listAuditEvents,
  verifyAudit,
  type AuditEvent,
  type Verification,
} from "../../api/admin";
import { useApi } from "../../api/useApi";
import { Empty, Loading } from "../../components/Status";
import { formatTime } from "../../components/format";
import {
  filtersFromSearch,
  filtersToQuery,
  filtersToSearch,
  hasFilters,
  isoToLocalInput,
  localInputToIso,
  NO_FILTERS,
  type AuditFilters,
} from "./auditFilters";
import { Refusal, isRefused } from "./Refusal";
import { shortHash, summaryParts, summaryText } from "./summary";
import "./admin.css";

const PAGE_SIZE = 100;

/** The audit log: every change, newest first, filterable by URL, with the chain's status. */
export function AuditPage() {
  const [search, setSearch] = useSearchParams();
  const filters = useMemo(() => filtersFromSearch(search), [search]);
  const key = filtersToSearch(filters).toString();
  const { data, error, loading } = useApi(
    (signal) => listAuditEvents(filtersToQuery(filters, PAGE_SIZE), signal),
    [key],
  );
  // Where "Newer" goes back to: the cursors of the pages before this one, this visit.
  const [previous, setPrevious] = useState<(number | null)[]>([]);
  const filterKey = filtersToSearch({ ...filters, after: null }).toString();
  useEffect(() => setPrevious([]), [filterKey]);

  const go = (next: AuditFilters) => setSearch(filtersToSearch(next));
  const older = () => {
    if (!data?.next_after_seq) return;
    setPrevious((p) => [...p, filters.after]);
    go({ ...filters, after: data.next_after_seq });
  };
  const newer = () => {
    const back = previous[previous.length - 1] ?? null;
    setPrevious((p) => p.slice(0, -1));
    go({ ...filters, after: back });
  };

  if (isRefused(error)) {
    return (
      <section>
        <h1>Audit log</h1>
        <Refusal error={error} what="The audit log" />
      </section>
    );
  }

  return (
    <section className="audit">
      <div className="page-head">
        <h1>Audit log</h1>
        <a className="button secondary" href={auditExportUrl} download="clew-audit.jsonl">
          Export (JSON Lines)
        </a>
      </div>
      <VerifyPanel />
      <FilterForm
        filters={filters}
        events={data?.events ?? []}
        onApply={(f) => go({ ...f, after: null })}
      />
      <Refusal error={error} what="The audit log" />
      {loading && !data ? (
        <Loading label="Loading events" />
      ) : data && data.events.length === 0 ? (
        <Empty>
          {hasFilters(filters) ? "No events match these filters." : "No events yet."}
        </Empty>
      ) : data ? (
        <>
          <EventTable events={data.events} filters={filters} busy={loading} />
          <nav className="pager" aria-label="Audit log pages">
            <span className="muted">
              {data.events.length} events, #{data.events[0].seq} to #
              {data.events[data.events.length - 1].seq}
            </span>
            {filters.after !== null && (
              <button type="button" className="ghost" onClick={() => go({ ...filters, after: null })}>
                Newest
              </button>
            )}
            <button type="button" className="ghost" onClick={newer} disabled={previous.length === 0}>
              ← Newer
            </button>
            <button type="button" className="ghost" onClick={older} disabled={!data.next_after_seq}>
              Older →
            </button>
          </nav>
        </>
      ) : null}
    </section>
  );
}

type VerifyState =
  | { phase: "running"; started: number }
  | { phase: "done"; result: Verification; took: number; at: number }
  | { phase: "failed"; error: Error };

/** Recompute the hash chain on the server: on arrival, and whenever asked. */
function VerifyPanel() {
  const [state, setState] = useState<VerifyState>({ phase: "running", started: performance.now() });
  const [elapsed, setElapsed] = useState(0);
  const controller = useRef<AbortController | null>(null);

  const run = useCallback(() => {
    controller.current?.abort();
    const mine = new AbortController();
    controller.current = mine;
    const started = performance.now();
    setState({ phase: "running", started });
    setElapsed(0);
    verifyAudit(mine.signal)
      .then((result) => {
        if (!mine.signal.aborted)
          setState({ phase: "done", result, took: performance.now() - started, at: Date.now() });
      })
      .catch((error: unknown) => {
        if (!mine.signal.aborted)
          setState({ phase: "failed", error: error instanceof Error ? error : new Error(String(error)) });
      });
  }, []);

  useEffect(() => {
    run();
    return () => controller.current?.abort();
  }, [run]);

  useEffect(() => {
    if (state.phase !== "running") return;
    const timer = window.setInterval(() => setElapsed(performance.now() - state.started), 200);
    return () => window.clearInterval(timer);
  }, [state]);

  let body;
  let tone = "";
  if (state.phase === "running") {
    tone = "pending";
    body = (
      <p>
        <strong>Verifying the chain…</strong>{" "}
        <span className="muted">recomputing every event's hash ({(elapsed / 1000).toFixed(1)} s)</span>
      </p>
    );
  } else if (state.phase === "failed") {
    tone = "bad";
    body = (
      <p>
        <strong>Could not verify.</strong> {state.error.message}
      </p>
    );
  } else if (state.result.ok) {
    const r = state.result;
    tone = "good";
    body = (
      <p>
        <strong>Chain verified</strong>: {r.checked} events, every link holds. Head #{r.head_seq}{" "}
        <span className="mono hash" title={r.head_hash}>
          {r.head_hash}
        </span>
        <span className="muted"> · checked {formatTime(state.at)} in {Math.round(state.took)} ms</span>
      </p>
    );
  } else {
    const r = state.result;
    tone = "bad";
    body = (
      <p>
        <strong>Chain broken at event #{r.broken_seq}</strong>: {r.reason}. {r.checked} events
        verified before it (last good #{r.head_seq}
        {r.head_hash ? (
          <>
            , <span className="mono hash">{shortHash(r.head_hash, 16)}</span>
          </>
        ) : null}
        ).{" "}
        {r.broken_seq !== null && (
          <Link to={`/audit?${filtersToSearch({ ...NO_FILTERS, after: r.broken_seq + 1 })}`}>
            Show event #{r.broken_seq}
          </Link>
        )}
        <span className="muted"> · checked {formatTime(state.at)}</span>
      </p>
    );
  }

  return (
    <div className={`verify verify-${tone}`} aria-labelledby="verify-title">
      <h2 id="verify-title" className="visually-hidden">
        Chain verification
      </h2>
      <div role="status" aria-live="polite" className="verify-text">
        {body}
      </div>
      <button type="button" onClick={run} disabled={state.phase === "running"}>
        {state.phase === "running" ? "Verifying…" : "Verify now"}
      </button>
    </div>
  );
}

function FilterForm({
  filters,
  events,
  onApply,
}: {
  filters: AuditFilters;
  events: AuditEvent[];
  onApply: (filters: AuditFilters) => void;
}) {
  const [draft, setDraft] = useState(filters);
  useEffect(() => setDraft(filters), [filters]);
  const seen = useMemo(() => {
    const pick = (f: (e: AuditEvent) => string) => [...new Set(events.map(f))].sort();
    return {
      actors: pick((e) => e.actor),
      actions: pick((e) => e.action),
      types: pick((e) => e.resource_type),
    };
  }, [events]);

  const submit = (e: FormEvent) => {
    e.preventDefault();
    onApply(draft);
  };
  const text = (key: "actor" | "action" | "resource_type" | "resource_id", label: string, list?: string) => (
    <label>
      {label}
      <input
        name={key}
        value={draft[key]}
        list={list}
        autoComplete="off"
        onChange={(e) => setDraft({ ...draft, [key]: e.target.value })}
      />
    </label>
  );

  return (
    <form className="audit-filters" onSubmit={submit} aria-label="Filter the audit log">
      {text("actor", "Actor", "audit-actors")}
      {text("action", "Action", "audit-actions")}
      {text("resource_type", "Resource type", "audit-types")}
      {text("resource_id", "Resource ID")}
      <label>
        From
        <input
          type="datetime-local"
          name="since"
          value={isoToLocalInput(draft.since)}
          onChange={(e) => setDraft({ ...draft, since: localInputToIso(e.target.value) })}
        />
      </label>
      <label>
        Until
        <input
          type="datetime-local"
          name="until"
          value={isoToLocalInput(draft.until)}
          onChange={(e) => setDraft({ ...draft, until: localInputToIso(e.target.value) })}
        />
      </label>
      <div className="filter-buttons">
        <button type="submit">Apply filters</button>
        <button
          type="button"
          className="ghost"
          disabled={!hasFilters(filters) && !hasFilters(draft)}
          onClick={() => onApply(NO_FILTERS)}
        >
          Clear
        </button>
      </div>
      <datalist id="audit-actors">
        {seen.actors.map((v) => (
          <option key={v} value={v} />
        ))}
      </datalist>
      <datalist id="audit-actions">
        {seen.actions.map((v) => (
          <option key={v} value={v} />
        ))}
      </datalist>
      <datalist id="audit-types">
        {seen.types.map((v) => (
          <option key={v} value={v} />
        ))}
      </datalist>
    </form>
  );
}

function EventTable({ events, filters, busy }: { events: AuditEvent[]; filters: AuditFilters; busy: boolean }) {
  const only = (change: Partial<AuditFilters>) =>
    `/audit?${filtersToSearch({ ...filters, ...change, after: null })}`;
  return (
    <div className="table-scroll">
      <table className="grid audit-table" aria-busy={busy}>
        <caption className="visually-hidden">Audit events, newest first</caption>
        <thead>
          <tr>
            <th scope="col">#</th>
            <th scope="col">Time</th>
            <th scope="col">Actor</th>
            <th scope="col">Action</th>
            <th scope="col">Resource</th>
            <th scope="col">What changed</th>
          </tr>
        </thead>
        <tbody>
          {events.map((e) => (
            <tr key={e.seq}>
              <td className="mono num">{e.seq}</td>
              <td className="nowrap">
                <time dateTime={new Date(e.time).toISOString()}>{formatTime(e.time)}</time>
              </td>
              <td>
                <Link to={only({ actor: e.actor })} title={`Only events by ${e.actor}`}>
                  {e.actor}
                </Link>
                {e.actor_kind !== "user" && <span className="badge kind">{e.actor_kind}</span>}
              </td>
              <td>
                <Link className="mono" to={only({ action: e.action })} title={`Only ${e.action} events`}>
                  {e.action}
                </Link>
              </td>
              <td className="resource">
                <span className="muted">{e.resource_type}</span>{" "}
                <Link
                  className="mono"
                  to={only({ resource_type: e.resource_type, resource_id: e.resource_id })}
                  title="Only events on this resource"
                >
                  {e.resource_id}
                </Link>
              </td>
              <td className="summary">
                <Summary event={e} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function Summary({ event }: { event: AuditEvent }) {
  const parts = summaryParts(event.summary);
  return (
    <details>
      <summary>{parts.length ? summaryText(event.summary, 160) : <span className="muted">no details</span>}</summary>
      <dl className="kv">
        {parts.map(([k, v]) => (
          <div key={k} className="kv-row">
            <dt>{k}</dt>
            <dd className="mono">{v}</dd>
          </div>
        ))}
        <div className="kv-row">
          <dt>hash</dt>
          <dd className="mono">{event.hash}</dd>
        </div>
        <div className="kv-row">
          <dt>previous</dt>
          <dd className="mono">{event.prev_hash}</dd>
        </div>
      </dl>
    </details>
  );
}
