import { useState } from "react";
import { reportMarkdown, reportUrl } from "../../api/registry";
import { ErrorBox, Loading } from "../../components/Status";

/**
 * The version's compliance report, one click away: the server's HTML opens in its own tab (the
 * server escapes every value; the UI never renders it inline), the Markdown shows here as text.
 */
export function ReportPanel({ name, version }: { name: string; version: number }) {
  const [markdown, setMarkdown] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<Error>();

  const show = async () => {
    setBusy(true);
    setError(undefined);
    try {
      setMarkdown(await reportMarkdown(name, version));
    } catch (e) {
      setError(e as Error);
    } finally {
      setBusy(false);
    }
  };

  return (
    <div className="report">
      <p className="muted">
        Laid out after the EU AI Act's Annex IV: description, development, evaluation, checks and
        approvals, audit trail, integrity. Reading the audit trail makes it an admin's.
      </p>
      <div className="toolbar">
        <a className="button" href={reportUrl(name, version, "html")} target="_blank" rel="noopener noreferrer">
          Open report (HTML)
        </a>
        <button type="button" className="secondary" onClick={() => void show()} disabled={busy}>
          {markdown === null ? "Show as Markdown" : "Refresh Markdown"}
        </button>
        <a className="button secondary" href={reportUrl(name, version, "markdown")} download={`${name}-v${version}-report.md`}>
          Download Markdown
        </a>
      </div>
      {busy && <Loading label="Making the report" />}
      <ErrorBox error={error} />
      {markdown !== null && (
        <pre className="preview report-text" aria-label="Compliance report (Markdown)" tabIndex={0}>
          {markdown}
        </pre>
      )}
    </div>
  );
}
