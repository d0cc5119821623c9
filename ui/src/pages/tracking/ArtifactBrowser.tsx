import { useEffect, useState } from "react";
import { artifactUrl } from "../../api/client";
import { artifactHead, artifactTablePreview, listArtifacts, type ArtifactFile, type TablePreview } from "../../api/tracking";
import { useApi } from "../../api/useApi";
import { Empty, ErrorBox, Loading } from "../../components/Status";
import { delimiterOf, formatBytes, imageType, parseDelimited, previewKind } from "./artifactKinds";

const TEXT_LIMIT = 512 * 1024;
const JSON_LIMIT = 2 * 1024 * 1024;
const TABLE_LIMIT = 1024 * 1024;
const IMAGE_LIMIT = 20 * 1024 * 1024;
const TABLE_ROWS = 100;

const baseName = (path: string) => path.split("/").pop() ?? path;

function DownloadLink({ runId, file, label }: { runId: string; file: ArtifactFile; label?: string }) {
  return (
    <a className="download" href={artifactUrl(runId, file.path)} download={baseName(file.path)} aria-label={`Download ${file.path}`}>
      {label ?? "↓"}
    </a>
  );
}

/** One directory's children, loaded when it is first opened. */
function Folder({
  runId,
  path,
  selected,
  onSelect,
}: {
  runId: string;
  path: string;
  selected: string | null;
  onSelect: (file: ArtifactFile) => void;
}) {
  const listing = useApi((signal) => listArtifacts(runId, path, signal), [runId, path]);
  const [open, setOpen] = useState<Set<string>>(new Set());
  if (listing.loading && !listing.data) return <Loading label="Listing" />;
  if (listing.error) return <ErrorBox error={listing.error} />;
  const files = [...(listing.data ?? [])].sort((a, b) => Number(b.is_dir) - Number(a.is_dir) || a.path.localeCompare(b.path));
  if (!files.length) return path ? <p className="hint tree-empty">Empty folder</p> : <Empty>No artifacts.</Empty>;
  return (
    <ul className="tree">
      {files.map((f) =>
        f.is_dir ? (
          <li key={f.path}>
            <button
              type="button"
              className="tree-item tree-dir"
              aria-expanded={open.has(f.path)}
              onClick={() =>
                setOpen((s) => {
                  const next = new Set(s);
                  if (next.has(f.path)) next.delete(f.path);
                  else next.add(f.path);
                  return next;
                })
              }
            >
              <span aria-hidden="true">{open.has(f.path) ? "▾ " : "▸ "}</span>
              {baseName(f.path)}/
            </button>
            {open.has(f.path) && <Folder runId={runId} path={f.path} selected={selected} onSelect={onSelect} />}
          </li>
        ) : (
          <li key={f.path} className="tree-file">
            <button
              type="button"
              className={"tree-item" + (selected === f.path ? " selected" : "")}
              aria-current={selected === f.path ? "true" : undefined}
              onClick={() => onSelect(f)}
            >
              {baseName(f.path)}
            </button>
            <span className="hint">{formatBytes(f.size)}</span>
            <DownloadLink runId={runId} file={f} />
          </li>
        ),
      )}
    </ul>
  );
}

type Shown =
  | { kind: "text"; text: string; truncated: boolean }
  | { kind: "json"; text: string }
  | { kind: "image"; url: string }
  | { kind: "table"; table: TablePreview; source: "server" | "browser" }
  | { kind: "none"; why: string };

async function load(runId: string, file: ArtifactFile, signal: AbortSignal): Promise<Shown> {
  const kind = previewKind(file.path);
  const decode = (bytes: Uint8Array) => new TextDecoder("utf-8", { fatal: false }).decode(bytes);
  if (kind === "image") {
    if ((file.size ?? 0) > IMAGE_LIMIT) return { kind: "none", why: `Images over ${formatBytes(IMAGE_LIMIT)} are not previewed.` };
    const { bytes } = await artifactHead(runId, file.path, IMAGE_LIMIT, signal);
    return { kind: "image", url: URL.createObjectURL(new Blob([bytes as BlobPart], { type: imageType(file.path) })) };
  }
  if (kind === "table") {
    const server = await artifactTablePreview(runId, file.path, TABLE_ROWS, signal);
    if (server) return { kind: "table", table: server, source: "server" };
    if (file.path.toLowerCase().endsWith(".parquet")) return { kind: "none", why: "This server does not preview Parquet files." };
    const { bytes, truncated } = await artifactHead(runId, file.path, TABLE_LIMIT, signal);
    const parsed = parseDelimited(decode(bytes), delimiterOf(file.path), TABLE_ROWS, truncated);
    return {
      kind: "table",
      table: { columns: parsed.columns, rows: parsed.rows, total_rows: null, truncated: parsed.truncated },
      source: "browser",
    };
  }
  if (kind === "json") {
    const { bytes, truncated } = await artifactHead(runId, file.path, JSON_LIMIT, signal);
    const text = decode(bytes);
    if (!truncated) {
      try {
        return { kind: "json", text: JSON.stringify(JSON.parse(text), null, 2) };
      } catch {
        // not valid JSON: show it as written
      }
    }
    return { kind: "text", text, truncated };
  }
  if (kind === "text") {
    const { bytes, truncated } = await artifactHead(runId, file.path, TEXT_LIMIT, signal);
    if (bytes.subarray(0, 4096).includes(0)) return { kind: "none", why: "This looks like a binary file." };
    return { kind: "text", text: decode(bytes), truncated };
  }
  return { kind: "none", why: "No preview for this kind of file." };
}

function Preview({ runId, file }: { runId: string; file: ArtifactFile }) {
  const shown = useApi((signal) => load(runId, file, signal), [runId, file.path]);
  const data = shown.data;
  useEffect(() => {
    const url = data?.kind === "image" ? data.url : null;
    return () => {
      if (url) URL.revokeObjectURL(url);
    };
  }, [data]);
  return (
    <div className="artifact-preview" aria-label={`Preview of ${file.path}`} role="region">
      <div className="preview-head">
        <h3 className="mono">{file.path}</h3>
        <span className="hint">{formatBytes(file.size)}</span>
        <DownloadLink runId={runId} file={file} label="Download" />
      </div>
      {shown.loading ? (
        <Loading label="Loading preview" />
      ) : shown.error ? (
        <ErrorBox error={shown.error} />
      ) : data?.kind === "text" || data?.kind === "json" ? (
        <>
          <pre className="preview" data-kind={data.kind}>
            {data.text}
          </pre>
          {data.kind === "text" && data.truncated && <p className="hint">Showing the first {formatBytes(TEXT_LIMIT)}; download for the rest.</p>}
        </>
      ) : data?.kind === "image" ? (
        <img className="preview-image" src={data.url} alt={file.path} />
      ) : data?.kind === "table" ? (
        <>
          <div className="table-preview">
            <table className="grid">
              <thead>
                <tr>
                  {data.table.columns.map((c, i) => (
                    <th key={i} scope="col">
                      {c}
                    </th>
                  ))}
                </tr>
              </thead>
              <tbody>
                {data.table.rows.map((row, r) => (
                  <tr key={r}>
                    {row.map((v, c) => (
                      <td key={c}>{v === null || v === undefined ? "" : String(v)}</td>
                    ))}
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <p className="hint">
            {data.table.rows.length} rows
            {data.table.total_rows !== null ? ` of ${data.table.total_rows.toLocaleString()}` : data.table.truncated ? " (the first ones)" : ""}
            {data.source === "browser" ? ", read in the browser" : ""}.
          </p>
        </>
      ) : data?.kind === "none" ? (
        <p className="hint">{data.why}</p>
      ) : null}
    </div>
  );
}

/** A run's artifact tree with a preview of the chosen file; `selected` is kept in the URL. */
export function ArtifactBrowser({
  runId,
  selected,
  onSelect,
}: {
  runId: string;
  selected: string | null;
  onSelect: (path: string | null) => void;
}) {
  const [file, setFile] = useState<ArtifactFile | null>(null);
  // A shared link names only the path: preview it with an unknown size.
  const current = selected ? (file && file.path === selected ? file : { path: selected, is_dir: false, size: null, digest: null }) : null;
  return (
    <div className="artifacts">
      <nav className="artifact-tree" aria-label="Artifact files">
        <Folder
          runId={runId}
          path=""
          selected={selected}
          onSelect={(f) => {
            setFile(f);
            onSelect(f.path);
          }}
        />
      </nav>
      {current ? <Preview runId={runId} file={current} /> : <p className="hint">Choose a file to preview it.</p>}
    </div>
  );
}
