import { useState } from "react";
import { verifyVersion, versionFiles, type Verification } from "../../api/registry";
import { useApi } from "../../api/useApi";
import { ErrorBox, Loading } from "../../components/Status";
import { formatBytes } from "./lib";

type VerifyState = { phase: "idle" } | { phase: "running"; started: number } | { phase: "done"; result: Verification; took: number } | { phase: "failed"; error: Error };

/** The version's files with sizes and sha256 digests, and a live re-hash of them. */
export function FilesPanel({ name, version }: { name: string; version: number }) {
  const files = useApi((signal) => versionFiles(name, version, signal), [name, version]);
  const [verify, setVerify] = useState<VerifyState>({ phase: "idle" });

  const run = async () => {
    const started = Date.now();
    setVerify({ phase: "running", started });
    try {
      const result = await verifyVersion(name, version);
      setVerify({ phase: "done", result, took: Date.now() - started });
    } catch (error) {
      setVerify({ phase: "failed", error: error as Error });
    }
  };

  const result = verify.phase === "done" ? verify.result : null;
  const bad = new Set([...(result?.mismatched ?? []), ...(result?.missing ?? [])]);
  const total = (files.data?.files ?? []).reduce((n, f) => n + f.size, 0);

  return (
    <div className="files">
      <div className="toolbar">
        <button type="button" onClick={() => void run()} disabled={verify.phase === "running"}>
          {verify.phase === "running" ? "Verifying…" : "Verify digests"}
        </button>
        <div className="verify-status" role="status" aria-live="polite">
          {verify.phase === "running" && <span className="badge state-RUNNING">re-hashing every file…</span>}
          {result && (
            <span className={`badge ${result.ok ? "pass" : "fail"}`}>
              {result.ok
                ? `All ${result.checked} files match their digests${result.tree_ok ? " and the tree digest" : ""}`
                : `${result.mismatched.length} changed, ${result.missing.length} missing of ${result.checked}${result.tree_ok ? "" : "; tree digest differs"}`}
            </span>
          )}
        </div>
      </div>
      {verify.phase === "failed" && <ErrorBox error={verify.error} />}
      <ErrorBox error={files.error} />
      {!files.data ? (
        !files.error && <Loading />
      ) : files.data.files.length === 0 ? (
        <p className="muted">No files recorded.</p>
      ) : (
        <table className="grid compact">
          <thead>
            <tr>
              <th scope="col">Path</th>
              <th scope="col" className="num">Size</th>
              <th scope="col">sha256</th>
              {result && <th scope="col">Check</th>}
            </tr>
          </thead>
          <tbody>
            {files.data.files.map((f) => (
              <tr key={f.path}>
                <td className="mono">{f.path}</td>
                <td className="num" title={`${f.size} bytes`}>
                  {formatBytes(f.size)}
                </td>
                <td className="mono digest">{f.digest}</td>
                {result && (
                  <td>
                    {result.missing.includes(f.path) ? (
                      <span className="badge fail">missing</span>
                    ) : bad.has(f.path) ? (
                      <span className="badge fail">changed</span>
                    ) : (
                      <span className="badge pass">ok</span>
                    )}
                  </td>
                )}
              </tr>
            ))}
          </tbody>
          <tfoot>
            <tr>
              <td>{files.data.files.length} files</td>
              <td className="num">{formatBytes(total)}</td>
              <td colSpan={result ? 2 : 1} />
            </tr>
          </tfoot>
        </table>
      )}
    </div>
  );
}
