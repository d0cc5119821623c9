import { Link, useParams } from "react-router-dom";
import { getPolicy, getVersion, listRequests } from "../../api/registry";
import { useApi } from "../../api/useApi";
import { ErrorBox, Loading } from "../../components/Status";
import { formatTime } from "../../components/format";
import { AliasList, RequestList, StageBadge, TagTable } from "./bits";
import { FilesPanel } from "./FilesPanel";
import { ModelCard } from "./ModelCard";
import { ReportPanel } from "./ReportPanel";
import { RequestForm } from "./RequestForm";
import { SignatureView } from "./SignatureView";
import { lineageHref, modelHref, runHref } from "./links";

/** One model version: where it came from, its card, signature, files, report and promotions. */
export function VersionPage() {
  const params = useParams();
  const name = params.name ?? "";
  const number = params.version ?? "";
  const version = useApi((signal) => getVersion(name, number, signal), [name, number]);
  const policy = useApi((signal) => getPolicy(name, signal), [name]);
  const requests = useApi((signal) => listRequests({ model: name, limit: 200 }, signal), [name]);

  if (version.error) {
    return (
      <section className="registry">
        <h1>
          {name} v{number}
        </h1>
        <ErrorBox error={version.error} />
      </section>
    );
  }
  if (!version.data) return <Loading />;
  const v = version.data;
  const mine = (requests.data?.requests ?? []).filter((r) => r.version === v.version);
  const otherTags = Object.entries(v.tags)
    .filter(([k]) => !k.startsWith("model_card."))
    .sort(([a], [b]) => a.localeCompare(b));

  return (
    <section className="registry">
      <nav aria-label="Breadcrumb" className="crumbs">
        <Link to="/models">Models</Link> <span aria-hidden="true">/</span>{" "}
        <Link to={modelHref(v.name)}>{v.name}</Link> <span aria-hidden="true">/</span>
      </nav>
      <header className="page-head">
        <h1>
          {v.name} <span className="version-number">v{v.version}</span>
        </h1>
        {v.current_stage && v.current_stage !== "None" && <StageBadge stage={v.current_stage} />}
        {v.aliases.length > 0 && <AliasList aliases={v.aliases} />}
        {v.status !== "READY" && <span className="badge">{v.status}</span>}
      </header>
      <nav className="actions" aria-label="Version links">
        {v.run_id && (
          <Link className="button secondary" to={runHref(v.run_id)}>
            Source run
          </Link>
        )}
        <Link className="button secondary" to={lineageHref(v.name, v.version)}>
          Lineage
        </Link>
        <a className="button secondary" href="#report">
          Compliance report
        </a>
      </nav>

      <div className="two-col">
        <div>
          {v.description && <p className="description">{v.description}</p>}
          <dl className="kv facts">
            <div>
              <dt>Stage</dt>
              <dd>
                <StageBadge stage={v.current_stage} />
              </dd>
            </div>
            <div>
              <dt>Registered</dt>
              <dd>
                {formatTime(v.creation_timestamp)} by {v.user_id || "unknown"}
              </dd>
            </div>
            <div>
              <dt>Updated</dt>
              <dd>{formatTime(v.last_updated_timestamp)}</dd>
            </div>
            <div>
              <dt>Source</dt>
              <dd className="mono">{v.source}</dd>
            </div>
            {v.run_id && (
              <div>
                <dt>Run</dt>
                <dd>
                  <Link className="mono" to={runHref(v.run_id)}>
                    {v.run_id}
                  </Link>
                </dd>
              </div>
            )}
            {v.digest && (
              <div>
                <dt>Content digest</dt>
                <dd className="mono">sha256:{v.digest}</dd>
              </div>
            )}
            {v.status_message && (
              <div>
                <dt>Status</dt>
                <dd>{v.status_message}</dd>
              </div>
            )}
          </dl>

          <h2>Model card</h2>
          <ModelCard tags={v.tags} />

          <h2>Signature</h2>
          <SignatureView version={v} />

          <h2>Files</h2>
          <FilesPanel name={v.name} version={v.version} />

          <h2 id="report">Compliance report</h2>
          <ReportPanel name={v.name} version={v.version} />
        </div>

        <aside>
          <h2>Tags</h2>
          <TagTable tags={otherTags} />

          <h2>Promotions</h2>
          <ErrorBox error={requests.error} />
          {mine.length === 0 ? (
            <p className="muted">No promotion requests for this version.</p>
          ) : (
            <RequestList requests={mine} withVersion={false} />
          )}
          {policy.data ? <RequestForm version={v} policy={policy.data} /> : <ErrorBox error={policy.error} />}
        </aside>
      </div>
    </section>
  );
}
