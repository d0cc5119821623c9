import { useEffect, useState } from "react";
import { Link } from "react-router-dom";
import { countRuns, hasRoute, searchExperiments, type Experiment } from "../../api/tracking";
import { useApi } from "../../api/useApi";
import { Empty, ErrorBox, Loading } from "../../components/Status";
import { formatTime } from "../../components/format";
import { quoteString } from "./searchCompletion";
import "./tracking.css";

/** Run counts per experiment, a few requests at a time; absent when the server cannot count. */
function useRunCounts(experiments: Experiment[] | undefined): Map<string, number> | null {
  const [counts, setCounts] = useState<Map<string, number> | null>(null);
  const ids = (experiments ?? []).map((e) => e.experiment_id).join(",");
  useEffect(() => {
    const controller = new AbortController();
    // The first 200 listed: counting is one cheap query each, but not thousands of them.
    const todo = ids ? ids.split(",").slice(0, 200) : [];
    const found = new Map<string, number>();
    setCounts(null);
    void (async () => {
      if (!todo.length || !(await hasRoute("POST", "/runs/count"))) return;
      const worker = async () => {
        for (let id = todo.shift(); id !== undefined; id = todo.shift()) {
          const n = await countRuns({ experiment_ids: [id] }, controller.signal).catch(() => null);
          if (controller.signal.aborted) return;
          if (n !== null) found.set(id, n);
          setCounts(new Map(found));
        }
      };
      await Promise.all([worker(), worker(), worker()]);
    })();
    return () => controller.abort();
  }, [ids]);
  return counts;
}

/** Every experiment the caller may read, filterable by name; pick several to see their runs together. */
export function ExperimentsPage() {
  const [query, setQuery] = useState("");
  const [picked, setPicked] = useState<Set<string>>(new Set());
  const filter = query.trim() ? `name ILIKE ${quoteString(`%${query.trim()}%`)}` : "";
  const { data, error, loading } = useApi(
    (signal) => searchExperiments({ filter, max_results: 1000, order_by: ["last_update_time DESC"] }, signal),
    [filter],
  );
  const counts = useRunCounts(data?.experiments);
  const toggle = (id: string) =>
    setPicked((s) => {
      const next = new Set(s);
      if (next.has(id)) next.delete(id);
      else next.add(id);
      return next;
    });
  const ids = [...picked];

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
        <span className="toolbar-gap" />
        {ids.length >= 1 ? (
          <Link className="button" to={ids.length === 1 ? `/experiments/${ids[0]}` : `/runs?experiments=${ids.join(",")}`}>
            Runs of {ids.length} selected
          </Link>
        ) : (
          <button type="button" disabled title="Select experiments to see their runs in one table">
            Runs of selected
          </button>
        )}
      </div>
      <ErrorBox error={error} />
      {loading && !data ? (
        <Loading />
      ) : data && data.experiments.length === 0 ? (
        <Empty>{filter ? "No experiment matches." : "No experiments yet."}</Empty>
      ) : (
        <table className="grid">
          <thead>
            <tr>
              <th scope="col" className="exp-select">
                <span className="visually-hidden">Select</span>
              </th>
              <th scope="col">Name</th>
              <th scope="col">ID</th>
              {counts && (
                <th scope="col" className="num">
                  Runs
                </th>
              )}
              <th scope="col">Created</th>
              <th scope="col">Updated</th>
            </tr>
          </thead>
          <tbody>
            {data?.experiments.map((e) => (
              <tr key={e.experiment_id}>
                <td>
                  <input
                    type="checkbox"
                    checked={picked.has(e.experiment_id)}
                    onChange={() => toggle(e.experiment_id)}
                    aria-label={`Select experiment ${e.name}`}
                  />
                </td>
                <td>
                  <Link to={`/experiments/${e.experiment_id}`}>{e.name}</Link>
                  {e.tags["mlflow.note.content"] && <div className="hint">{e.tags["mlflow.note.content"]}</div>}
                </td>
                <td className="mono">{e.experiment_id}</td>
                {counts && <td className="num">{counts.get(e.experiment_id)?.toLocaleString() ?? "…"}</td>}
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
