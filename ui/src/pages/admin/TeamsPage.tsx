import { useState, type FormEvent } from "react";
import { addMember, createTeam, deleteTeam, listTeams, listUsers, removeMember, type Team } from "../../api/admin";
import { useApi } from "../../api/useApi";
import { Empty, ErrorBox, Loading } from "../../components/Status";
import { formatTime } from "../../components/format";
import { ConfirmButton } from "./ConfirmButton";
import { Done } from "./Done";
import { AdminPage } from "./AdminPage";
import { NAME_RULE } from "./summary";
import { useAction } from "./useAction";

/** Teams: groups of users a role binding can name; make, fill, empty, delete. */
export function TeamsPage() {
  const teams = useApi((signal) => listTeams(signal), []);
  const users = useApi((signal) => listUsers(signal), []);
  const action = useAction();

  const change = async (work: () => Promise<unknown>, done: string) => {
    if (await action.run(work, done)) teams.reload();
  };
  const names = users.data?.map((u) => u.name) ?? [];

  return (
    <AdminPage title="Teams" what="Managing teams" error={teams.error} aside={<CreateTeam onMade={teams.reload} />}>
      <ErrorBox error={teams.error ?? users.error} />
      <ErrorBox error={action.error} />
      <Done text={action.done} />
      {teams.loading && !teams.data ? (
        <Loading label="Loading teams" />
      ) : teams.data?.length === 0 ? (
        <Empty>No teams yet.</Empty>
      ) : (
        <ul className="team-list">
          {teams.data?.map((t) => (
            <TeamCard key={t.id} team={t} users={names} busy={action.busy} change={change} />
          ))}
        </ul>
      )}
    </AdminPage>
  );
}

function TeamCard({
  team,
  users,
  busy,
  change,
}: {
  team: Team;
  users: string[];
  busy: boolean;
  change: (work: () => Promise<unknown>, done: string) => Promise<void>;
}) {
  const [pick, setPick] = useState("");
  const outside = users.filter((u) => !team.members.includes(u));
  const headingId = `team-${team.id}`;
  return (
    <li className="team-card" aria-labelledby={headingId}>
      <div className="team-head">
        <h2 id={headingId}>{team.name}</h2>
        <ConfirmButton
          label="Delete team"
          confirm="Yes, delete it and its role bindings"
          what={`Delete team ${team.name}`}
          disabled={busy}
          onConfirm={() => void change(() => deleteTeam(team.name), `Deleted team ${team.name}.`)}
        />
      </div>
      {team.description && <p>{team.description}</p>}
      <p className="muted small">
        Made by {team.created_by}, {formatTime(team.created_at)}
      </p>
      <h3 className="small-heading">Members</h3>
      {team.members.length === 0 ? (
        <p className="muted">No members.</p>
      ) : (
        <ul className="members" aria-label={`Members of ${team.name}`}>
          {team.members.map((m) => (
            <li key={m}>
              <span>{m}</span>
              <button
                type="button"
                className="ghost small-button"
                disabled={busy}
                aria-label={`Remove ${m} from ${team.name}`}
                onClick={() => void change(() => removeMember(team.name, m), `Removed ${m} from ${team.name}.`)}
              >
                Remove
              </button>
            </li>
          ))}
        </ul>
      )}
      <form
        className="inline-form"
        onSubmit={(e) => {
          e.preventDefault();
          if (pick) void change(() => addMember(team.name, pick), `Added ${pick} to ${team.name}.`).then(() => setPick(""));
        }}
      >
        <label className="inline">
          <span className="visually-hidden">User to add to {team.name}</span>
          <select value={pick} onChange={(e) => setPick(e.target.value)}>
            <option value="">Add a member…</option>
            {outside.map((u) => (
              <option key={u} value={u}>
                {u}
              </option>
            ))}
          </select>
        </label>
        <button type="submit" className="secondary" disabled={busy || !pick}>
          Add to {team.name}
        </button>
      </form>
    </li>
  );
}

function CreateTeam({ onMade }: { onMade: () => void }) {
  const [name, setName] = useState("");
  const [description, setDescription] = useState("");
  const action = useAction();
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (await action.run(() => createTeam(name, description), `Made team ${name}.`)) {
      setName("");
      setDescription("");
      onMade();
    }
  };
  return (
    <form className="admin-form" onSubmit={submit} aria-labelledby="new-team">
      <h2 id="new-team">New team</h2>
      <div className="field">
        <label>
          Team name
          <input
            required
            value={name}
            maxLength={250}
            autoComplete="off"
            aria-describedby="team-name-rule"
            onChange={(e) => setName(e.target.value)}
          />
        </label>
        <small id="team-name-rule" className="hint">
          {NAME_RULE}.
        </small>
      </div>
      <label>
        Description
        <textarea value={description} maxLength={2000} rows={3} onChange={(e) => setDescription(e.target.value)} />
      </label>
      <button type="submit" disabled={action.busy || !name}>
        {action.busy ? "Creating…" : "Create team"}
      </button>
      <ErrorBox error={action.error} />
      <Done text={action.done} />
    </form>
  );
}
