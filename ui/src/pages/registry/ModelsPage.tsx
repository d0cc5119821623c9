import { useEffect, useState } from "react";
import { Link, useSearchParams } from "react-router-dom";
import { searchModels, type RegisteredModel } from "../../api/registry";
import { useApi } from "../../api/useApi";
import { Empty, ErrorBox, Loading } from "../../components/Status";
import { formatTime } from "../../components/format";
import { modelFilter } from "./lib";
import { modelHref, versionHref } from "./links";
import { AliasChips, TagChips } from "./bits";

/** Every registered model the caller may read; the search box takes name parts and tag=value. */
export function ModelsPage() {
  const [params, setParams] = useSearchParams();
  const [text, setText] = useState(params.get("q") ?? "");
  const [query, setQuery] = useState(text);
  const [extra, setExtra] = useState<RegisteredModel[]>([]);
  const [more, setMore] = useState<string | null>(null);
  const [moreError, setMoreError] = useState<Error>();

  useEffect(() => {
    const timer = setTimeout(() => setQuery(text), 200);
    return () => clearTimeout(timer);
  }, [text]);
  useEffect(() => {
    setParams(query ? { q: query } : {}, { replace: true });
  }, [query, setParams]);

  const filter = modelFilter(query);
  const { data, error, loading } = useApi(async (signal) => {
    const page = await searchModels({ filter, max_results: 100 }, signal);
    setExtra([]);
    setMore(page.next_page_token);
    return page;
  }, [filter]);

  const loadMore = async () => {
    if (!more) return;
    try {
      const page = await searchModels({ filter, max_results: 100, page_token: more });
      setExtra((rows) => [...rows, ...page.registered_models]);
      setMore(page.next_page_token);
    } catch (e) {
      setMoreError(e as Error);
    }
  };

  const models = [...(data?.registered_models ?? []), ...extra];
  return (
    <section className="registry">
      <h1>Models</h1>
      <div className="toolbar">
        <label className="inline grow">
          <span className="visually-hidden">Search models</span>
          <input
            type="search"
            className="wide"
            placeholder="Search by name, or tag=value (e.g. forest team=ml)"
            value={text}
            onChange={(e) => setText(e.target.value)}
          />
        </label>
        <span className="muted" aria-live="polite">
          {data ? `${models.length}${more ? "+" : ""} model${models.length === 1 ? "" : "s"}` : ""}
        </span>
      </div>
      <ErrorBox error={error} />
      {loading && !data ? (
        <Loading />
      ) : models.length === 0 ? (
        <Empty>{query ? "No model matches." : "No registered models yet."}</Empty>
      ) : (
        <table className="grid">
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Latest version</th>
              <th scope="col">Aliases</th>
              <th scope="col">Tags</th>
              <th scope="col">Updated</th>
            </tr>
          </thead>
          <tbody>
            {models.map((m) => {
              const latest = [...m.latest_versions].sort((a, b) => b.version - a.version)[0];
              return (
                <tr key={m.name}>
                  <td>
                    <Link to={modelHref(m.name)} className="strong">
                      {m.name}
                    </Link>
                    {m.description && <div className="muted clip">{m.description}</div>}
                  </td>
                  <td>
                    {latest ? (
                      <>
                        <Link to={versionHref(m.name, latest.version)}>v{latest.version}</Link>{" "}
                        {latest.current_stage && latest.current_stage !== "None" && (
                          <span className="badge">{latest.current_stage}</span>
                        )}
                      </>
                    ) : (
                      <span className="muted">none</span>
                    )}
                  </td>
                  <td>
                    <AliasChips model={m.name} aliases={m.aliases} />
                  </td>
                  <td>
                    <TagChips tags={m.tags} />
                  </td>
                  <td>{formatTime(m.last_updated_timestamp)}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
      {more && (
        <p>
          <button type="button" className="secondary" onClick={() => void loadMore()}>
            Load more
          </button>
        </p>
      )}
      <ErrorBox error={moreError} />
    </section>
  );
}
