import { mlmodelText, versionFiles, type ModelVersion } from "../../api/registry";
import { useApi } from "../../api/useApi";
import { ErrorBox, Loading } from "../../components/Status";
import { parseSignature, type SchemaField } from "./lib";

/** The inputs and outputs the version's MLmodel file declares (read through the artifact API). */
export function SignatureView({ version }: { version: ModelVersion }) {
  const { data, error, loading } = useApi(async (signal) => {
    const { files } = await versionFiles(version.name, version.version, signal);
    // only ask for a file the version has: a 404 would be a console error for nothing
    const text = files.some((f) => f.path === "MLmodel") ? await mlmodelText(version, signal) : null;
    return { text, signature: text === null ? null : parseSignature(text) };
  }, [version.name, version.version]);
  if (error) return <ErrorBox error={error} />;
  if (loading || !data) return <Loading label="Reading MLmodel" />;
  if (data.text === null) return <p className="muted">The version has no MLmodel file the API can read.</p>;
  if (!data.signature) {
    return <p className="muted">The MLmodel file declares no signature (log the model with an input example or a signature).</p>;
  }
  const s = data.signature;
  return (
    <div className="signature">
      <SchemaTable title="Inputs" fields={s.inputs} />
      <SchemaTable title="Outputs" fields={s.outputs} />
      {s.params && <SchemaTable title="Parameters" fields={s.params} />}
    </div>
  );
}

function SchemaTable({ title, fields }: { title: string; fields: SchemaField[] | null }) {
  return (
    <div>
      <h3 id={`schema-${title}`}>{title}</h3>
      {!fields || fields.length === 0 ? (
        <p className="muted">not declared</p>
      ) : (
        <table className="grid compact" aria-labelledby={`schema-${title}`}>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Type</th>
              <th scope="col">Detail</th>
            </tr>
          </thead>
          <tbody>
            {fields.map((f, i) => (
              <tr key={`${f.name ?? ""}-${i}`}>
                <td className="mono">{f.name ?? <span className="muted">(unnamed)</span>}</td>
                <td className="mono">{f.type}</td>
                <td>
                  {f.detail}
                  {!f.required && <span className="badge">optional</span>}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}
