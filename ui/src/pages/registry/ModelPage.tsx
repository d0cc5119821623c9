import { Link, useParams } from "react-router-dom";
import {
  aliasHistory,
  getModel,
  getPolicy,
  listRequests,
  modelVersions,
} from "../../api/registry";
import { useApi } from "../../api/useApi";
import { Empty, ErrorBox, Loading } from "../../components/Status";
import { formatTime } from "../../components/format";
import { AliasHistory } from "./AliasHistory";
import { AliasChips, AliasList, RequestList, StageBadge, TagTable } from "./bits";
import { PolicyView } from "./PolicyView";
import { runHref, versionHref } from "./links";

/** One registered model: what it is, its versions, its aliases with their history, its policy. */
export function ModelPage() {
  const name = useParams().name ?? "";
  const model = useApi((signal) => getModel(name, signal), [name]);
  const versions = useApi((signal) => modelVersions(name, signal), [name]);
  const history = useApi((signal) => aliasHistory(name, signal), [name]);
  const policy = useApi((signal) => getPolicy(name, signal), [name]);
  const requests = useApi((signal) => listRequests({ model: name, limit: 10 }, signal), [name]);

  if (model.error) {
    return (
      <section className="registry">
        <h1>{name}</h1>
        <ErrorBox error={model.error} />
      </section>
    );
  }
  if (!model.data) return <Loading />;
  const m = model.data;
  const tags = Object.entries(m.tags).sort(([a], [b]) => a.localeCompare(b));

  return (
    <section className="registry">
      <nav aria-label="Breadcrumb" className="crumbs">
        <Link to="/models">Models</Link> <span aria-hidden="true">/</span>
      </nav>
      <header className="page-head">
        <h1>{m.name}</h1>
        <AliasChips model={m.name} aliases={m.aliases} />
      </header>
      <p className="meta muted">
        Registered by {m.user_id || "unknown"} on {formatTime(m.creation_timestamp)} · updated{" "}
        {formatTime(m.last_updated_timestamp)}
      </p>
      {m.description ? (
        <p className="description">{m.description}</p>
      ) : (
        <p className="muted">No description.</p>
      )}

      <div className="two-col">
        <div>
          <h2 id="versions">Versions</h2>
          <ErrorBox error={versions.error} />
          {!versions.data ? (
            <Loading />
          ) : versions.data.length === 0 ? (
            <Empty>No versions yet.</Empty>
          ) : (
            <table className="grid" aria-labelledby="versions">
              <thead>
                <tr>
                  <th scope="col">Version</th>
                  <th scope="col">Stage</th>
                  <th scope="col">Aliases</th>
                  <th scope="col">Source run</th>
                  <th scope="col">Created by</th>
                  <th scope="col">Created</th>
                </tr>
              </thead>
              <tbody>
                {versions.data.map((v) => (
                  <tr key={v.version}>
                    <td>
                      <Link to={versionHref(m.name, v.version)} className="strong">
                        v{v.version}
                      </Link>
                      {v.status !== "READY" && <span className="badge">{v.status}</span>}
                    </td>
                    <td>
                      <StageBadge stage={v.current_stage} />
                    </td>
                    <td>
                      <AliasList aliases={v.aliases} />
                    </td>
                    <td>
                      {v.run_id ? (
                        <Link className="mono" to={runHref(v.run_id)}>
                          {v.run_id.slice(0, 12)}
                        </Link>
                      ) : (
                        <span className="muted">none</span>
                      )}
                    </td>
                    <td>{v.user_id}</td>
                    <td>{formatTime(v.creation_timestamp)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}

          <h2>Aliases and their history</h2>
          <ErrorBox error={history.error} />
          {history.data ? <AliasHistory model={m.name} moves={history.data.moves} /> : !history.error && <Loading />}
        </div>

        <aside>
          <h2>Tags</h2>
          <TagTable tags={tags} />

          <h2>Policy</h2>
          <ErrorBox error={policy.error} />
          {policy.data ? <PolicyView answer={policy.data} /> : !policy.error && <Loading />}

          <h2>Promotion requests</h2>
          <ErrorBox error={requests.error} />
          {requests.data &&
            (requests.data.requests.length === 0 ? (
              <p className="muted">None yet.</p>
            ) : (
              <RequestList requests={requests.data.requests} />
            ))}
          <p>
            <Link to={`/promotions?model=${encodeURIComponent(m.name)}`}>All requests for this model</Link>
          </p>
        </aside>
      </div>
    </section>
  );
}
