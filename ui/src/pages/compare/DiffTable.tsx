import { useMemo } from "react";
import type { Run } from "../../api/tracking";
import { formatDuration, formatTime, formatValue } from "../../components/format";
import { diffRows, visibleRows, type DiffRow } from "./diff";
import { toNumber } from "../../api/metrics";

interface Props {
  runs: Run[];
  labels: string[];
  colors: string[];
  onlyDifferences: boolean;
  onOnlyDifferences: (value: boolean) => void;
}

/**
 * Params, latest metrics and tags side by side: a row per key, a column per run; rows whose
 * values differ (an absent value counts) are marked, and "Only differences" hides the rest.
 */
export function DiffTable({ runs, labels, colors, onlyDifferences, onOnlyDifferences }: Props) {
  const sections = useMemo(() => {
    const info = diffRows(
      "Run",
      runs.map((r) => ({
        status: r.info.status,
        user: r.info.user_id,
        started: formatTime(r.info.start_time),
        duration: formatDuration(r.info.start_time, r.info.end_time),
      })),
    );
    const params = diffRows("Params", runs.map((r) => r.data.params));
    const metrics = diffRows(
      "Metrics (latest)",
      runs.map((r) => Object.fromEntries(r.data.metrics.map((m) => [m.key, toNumber(m.value)]))),
      (v) => formatValue(v),
    );
    const tags = diffRows("Tags", runs.map((r) => r.data.tags));
    return [info, params, metrics, tags];
  }, [runs]);

  const counts = sections.map((rows) => rows.filter((r) => r.differs).length);
  const only = onlyDifferences && runs.length > 1; // one run differs from nothing: show it all
  return (
    <div>
      <div className="toolbar">
        <label className="inline">
          <input
            type="checkbox"
            checked={only}
            disabled={runs.length < 2}
            onChange={(e) => onOnlyDifferences(e.target.checked)}
          />{" "}
          Only differences
        </label>
        <span className="soft">
          {counts[1]} params, {counts[2]} metrics and {counts[3]} tags differ
        </span>
      </div>
      <div className="diff-scroll">
        <table className="grid diff-table">
          <thead>
            <tr>
              <th scope="col">Key</th>
              {labels.map((label, i) => (
                <th scope="col" key={runs[i].info.run_id}>
                  <span className="swatch" style={{ background: colors[i] }} aria-hidden="true" />
                  {label}
                </th>
              ))}
            </tr>
          </thead>
          {sections.map((rows, s) => (
            <Section key={s} rows={visibleRows(rows, only)} total={rows.length} title={rows[0]?.section ?? ["Run", "Params", "Metrics (latest)", "Tags"][s]} columns={runs.length} />
          ))}
        </table>
      </div>
    </div>
  );
}

function Section({ rows, total, title, columns }: { rows: DiffRow[]; total: number; title: string; columns: number }) {
  return (
    <tbody>
      <tr className="diff-section">
        <th scope="rowgroup" colSpan={columns + 1}>
          {title} <span className="soft">({rows.length === total ? total : `${rows.length} of ${total}`})</span>
        </th>
      </tr>
      {rows.map((row) => (
        <tr key={row.key} className={row.differs ? "differs" : undefined} data-differs={row.differs ? "true" : undefined}>
          <th scope="row" className="mono">
            {row.differs && <span className="visually-hidden">differs: </span>}
            {row.key}
          </th>
          {row.values.map((value, i) => (
            <td key={i} className={value === undefined ? "absent" : "mono"}>
              {value === undefined ? "—" : value}
            </td>
          ))}
        </tr>
      ))}
    </tbody>
  );
}
