import { useState } from "react";
import { Link } from "react-router-dom";
import { searchExperiments } from "../../api/tracking";
import { useApi } from "../../api/useApi";
import { Empty, ErrorBox, Loading } from "../../components/Status";
import { formatTime } from "../../components/format";

/** Every experiment the caller may read, filterable by name. */
export function ExperimentsPage() {
  const [query, setQuery] = useState("");
  const filter = query.trim() ? `name ILIKE '%${query.trim().replace(/'/g, "\\'")}%'` : "";
  const { data, error, loading } = useApi(
    (signal) => searchExperiments({ filter, max_results: 1000 }, signal),
    [filter],
  );

  return (
    <section>
      <h1>Experiments</h1>
      <div className="toolbar">
        <label className="inline">
          <span className="visually-hidden">Filter experiments by name</span>
          <input
            type="search"
            placeholder="Filter by name"
            value={query}
            onChange={(e) => setQuery(e.target.value)}
          />
        </label>
      </div>
      <ErrorBox error={error} />
      {loading && !data ? (
        <Loading />
      ) : data && data.experiments.length === 0 ? (
        <Empty>No experiments yet.</Empty>
      ) : (
        <table className="grid">
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">ID</th>
              <th scope="col">Created</th>
              <th scope="col">Updated</th>
            </tr>
          </thead>
          <tbody>
            {data?.experiments.map((e) => (
              <tr key={e.experiment_id}>
                <td>
                  <Link to={`/experiments/${e.experiment_id}`}>{e.name}</Link>
                </td>
                <td className="mono">{e.experiment_id}</td>
                <td>{formatTime(e.creation_time)}</td>
                <td>{formatTime(e.last_update_time)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
