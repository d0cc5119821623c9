import { useState } from "react";
import {
  createSchedule,
  deleteSchedule,
  listSchedules,
  setScheduleEnabled,
  type Schedule,
} from "../../api/pipelines";
import { useApi } from "../../api/useApi";
import { Empty, ErrorBox } from "../../components/Status";
import { formatTime } from "../../components/format";

/** `15m`, `2h`, `1d`, `90` (seconds) → seconds; undefined if it is none of those. */
export function parseEvery(text: string): number | undefined {
  const match = /^\s*(\d+)\s*([smhd]?)\s*$/.exec(text);
  if (!match) return undefined;
  const n = Number(match[1]) * { "": 1, s: 1, m: 60, h: 3600, d: 86400 }[match[2] as "" | "s" | "m" | "h" | "d"];
  return n > 0 ? n : undefined;
}

function every(seconds: number): string {
  for (const [unit, size] of [["d", 86400], ["h", 3600], ["m", 60]] as const) {
    if (seconds % size === 0) return `${seconds / size}${unit}`;
  }
  return `${seconds}s`;
}

function CreateSchedule({ pipelines, onCreated }: { pipelines: string[]; onCreated: () => void }) {
  const [name, setName] = useState("");
  const [picked, setPicked] = useState("");
  // The registered pipelines may arrive after the form opens: until one is picked, the first.
  const pipeline = picked || pipelines[0] || "";
  const [kind, setKind] = useState<"cron" | "every">("cron");
  const [when, setWhen] = useState("0 3 * * *");
  const [error, setError] = useState<Error>();
  const [busy, setBusy] = useState(false);

  const submit = async (event: React.FormEvent) => {
    event.preventDefault();
    setError(undefined);
    const interval = kind === "every" ? parseEvery(when) : undefined;
    if (kind === "every" && interval === undefined) {
      setError(new Error("Every takes a number of seconds, or 15m, 2h, 1d"));
      return;
    }
    setBusy(true);
    try {
      await createSchedule({ name: name.trim(), pipeline, ...(kind === "cron" ? { cron: when.trim() } : { interval_s: interval }) });
      setName("");
      onCreated();
    } catch (reason) {
      setError(reason as Error);
    } finally {
      setBusy(false);
    }
  };

  return (
    <form className="schedule-form" onSubmit={submit} aria-label="New schedule">
      <label>
        Schedule name
        <input value={name} onChange={(e) => setName(e.target.value)} required maxLength={250} />
      </label>
      <label>
        Pipeline
        {pipelines.length ? (
          <select aria-label="Pipeline" value={pipeline} onChange={(e) => setPicked(e.target.value)}>
            {pipelines.map((p) => (
              <option key={p}>{p}</option>
            ))}
          </select>
        ) : (
          <input value={pipeline} onChange={(e) => setPicked(e.target.value)} required placeholder="a registered pipeline" />
        )}
      </label>
      <label>
        Fires
        <select aria-label="Fires" value={kind} onChange={(e) => { const k = e.target.value as "cron" | "every"; setKind(k); setWhen(k === "cron" ? "0 3 * * *" : "15m"); }}>
          <option value="cron">on a cron expression (UTC)</option>
          <option value="every">every</option>
        </select>
      </label>
      <label>
        {kind === "cron" ? "Cron expression" : "Interval"}
        <input className="mono" value={when} onChange={(e) => setWhen(e.target.value)} required />
      </label>
      <button type="submit" disabled={busy || !name.trim() || !pipeline}>
        Create schedule
      </button>
      <ErrorBox error={error} />
    </form>
  );
}

function ScheduleRow({ schedule, onChanged }: { schedule: Schedule; onChanged: (error?: Error) => void }) {
  const [busy, setBusy] = useState(false);
  const [confirming, setConfirming] = useState(false);
  const act = async (call: () => Promise<unknown>) => {
    setBusy(true);
    try {
      await call();
      onChanged();
    } catch (error) {
      onChanged(error as Error);
    } finally {
      setBusy(false);
      setConfirming(false);
    }
  };
  return (
    <tr>
      <td>{schedule.name}</td>
      <td>{schedule.pipeline}</td>
      <td className="mono">{schedule.cron ?? `every ${every(schedule.interval_s ?? 0)}`}</td>
      <td>
        <span className={`badge state-${schedule.enabled ? "RUNNING" : "SKIPPED"}`}>{schedule.enabled ? "active" : "paused"}</span>
      </td>
      <td>{schedule.enabled ? formatTime(schedule.next_fire_at) : ""}</td>
      <td>{formatTime(schedule.last_fire_at)}</td>
      <td className="row-actions">
        <button type="button" className="ghost small" disabled={busy} onClick={() => void act(() => setScheduleEnabled(schedule.name, !schedule.enabled))}>
          {schedule.enabled ? "Pause" : "Resume"}
        </button>
        {confirming ? (
          <>
            <button type="button" className="danger small" disabled={busy} onClick={() => void act(() => deleteSchedule(schedule.name))}>
              Delete {schedule.name}?
            </button>
            <button type="button" className="ghost small" onClick={() => setConfirming(false)}>
              Keep
            </button>
          </>
        ) : (
          <button type="button" className="ghost small" onClick={() => setConfirming(true)} aria-label={`Delete schedule ${schedule.name}`}>
            Delete
          </button>
        )}
      </td>
    </tr>
  );
}

export function SchedulesSection({ pipelines }: { pipelines: string[] }) {
  const schedules = useApi((signal) => listSchedules(signal), []);
  const [error, setError] = useState<Error>();
  const [adding, setAdding] = useState(false);
  const changed = (e?: Error) => {
    setError(e);
    schedules.reload();
  };
  return (
    <>
      <h2>Schedules</h2>
      <div className="toolbar">
        <button type="button" className="secondary" aria-expanded={adding} onClick={() => setAdding((a) => !a)}>
          {adding ? "Close" : "New schedule"}
        </button>
      </div>
      {adding && <CreateSchedule pipelines={pipelines} onCreated={() => changed()} />}
      <ErrorBox error={schedules.error ?? error} />
      {schedules.data && schedules.data.schedules.length === 0 && <Empty>No schedules.</Empty>}
      {schedules.data && schedules.data.schedules.length > 0 && (
        <table className="grid" aria-label="Schedules">
          <thead>
            <tr>
              <th>Name</th>
              <th>Pipeline</th>
              <th>When</th>
              <th>State</th>
              <th>Next</th>
              <th>Last</th>
              <th>
                <span className="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {schedules.data.schedules.map((s) => (
              <ScheduleRow key={s.id} schedule={s} onChanged={changed} />
            ))}
          </tbody>
        </table>
      )}
    </>
  );
}
