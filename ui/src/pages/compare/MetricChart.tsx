import { useEffect, useMemo, useRef, useState } from "react";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import { formatValue } from "../../components/format";
import { chartColumns, lastAtOrBefore, sortedByX } from "./chartData";
import type { XMode } from "../../api/metrics";

export interface ChartLine {
  runId: string;
  label: string;
  color: string;
  dash?: number[];
  xs: number[];
  ys: number[];
  totalPoints: number;
  downsampled: boolean;
}

interface Props {
  metric: string;
  lines: ChartLine[];
  x: XMode;
  smoothing: number;
  log: boolean;
  /** Called after uPlot drew this data (once per change of data or options). */
  onDrawn: () => void;
}

const X_LABEL: Record<XMode, string> = {
  step: "step",
  time: "seconds since the first point",
  wall: "wall time",
};

/** Whole-number tick spacings for a step axis (uPlot would otherwise label 0.2 steps). */
const STEP_INCRS = Array.from({ length: 30 }, (_, i) => [1, 2, 5][i % 3] * 10 ** Math.floor(i / 3));

function tickLabel(v: number): string {
  if (v === null || v === undefined) return "";
  const a = Math.abs(v);
  return a !== 0 && (a >= 1e6 || a < 1e-4) ? v.toExponential(1) : String(Number(v.toPrecision(4)));
}

/** The theme on <html data-theme>, followed live: canvas colours are read when a chart is built. */
function useTheme(): string {
  const [theme, setTheme] = useState(() => document.documentElement.dataset.theme ?? "");
  useEffect(() => {
    const observer = new MutationObserver(() => setTheme(document.documentElement.dataset.theme ?? ""));
    observer.observe(document.documentElement, { attributes: true, attributeFilter: ["data-theme"] });
    return () => observer.disconnect();
  }, []);
  return theme;
}

function cssVar(name: string, fallback: string): string {
  const v = getComputedStyle(document.documentElement).getPropertyValue(name).trim();
  return v || fallback;
}

/**
 * One metric's chart: a uPlot canvas with a series per run, and a legend of our own (run
 * names as text, React-escaped) showing each run's value at the cursor. The value shown is the
 * run's last point at or before the cursor's x, so runs logged at different steps still read
 * sensibly. Cursors of all charts on the page move together.
 */
export function MetricChart({ metric, lines, x, smoothing, log, onDrawn }: Props) {
  const host = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const drawnRef = useRef(onDrawn);
  drawnRef.current = onDrawn;
  const [cursorX, setCursorX] = useState<number | null>(null);
  const theme = useTheme();

  const sorted = useMemo(() => lines.map(sortedByX), [lines]);
  const columns = useMemo(() => chartColumns(sorted, smoothing, log), [sorted, smoothing, log]);
  const raw = smoothing > 0;
  const structure = `${lines.map((l) => l.runId + l.color).join("|")}#${x}#${log}#${raw}#${theme}`;

  useEffect(() => {
    const el = host.current;
    if (!el) return;
    const axisStroke = cssVar("--fg-soft", "#666");
    const grid = cssVar("--border", "#ddd");
    const series: uPlot.Series[] = [{ label: X_LABEL[x] }];
    for (const line of lines) {
      // A run with few points (a metric logged once per fold, or once at the end) shows
      // them as dots: a one-point line would draw nothing.
      const dots = line.xs.length <= 60;
      series.push({ label: line.label, stroke: line.color, width: 1.5, dash: line.dash, spanGaps: true, points: { show: dots, size: 6, fill: line.color } });
      if (raw) series.push({ label: `${line.label} (raw)`, stroke: line.color + "44", width: 1, spanGaps: true, points: { show: false } });
    }
    const axis = { stroke: axisStroke, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1 } };
    const opts: uPlot.Options = {
      width: Math.max(el.clientWidth, 200),
      height: 240,
      series,
      legend: { show: false },
      cursor: { sync: { key: "clew-compare" }, points: { show: false } },
      scales: {
        // One x value (a metric logged once) gets a small range around it, not 0..100.
        x: { time: x === "wall", range: (_u, min, max) => (min === max ? [min - 1, max + 1] : [min, max]) },
        y: log ? { distr: 3, log: 10 } : {},
      },
      axes: [
        { ...axis, label: X_LABEL[x], labelSize: 20, ...(x === "step" ? { incrs: STEP_INCRS } : {}) },
        { ...axis, size: 60, values: (_u, splits) => splits.map(tickLabel) },
      ],
      hooks: {
        draw: [() => drawnRef.current()],
        setCursor: [
          (u) => {
            const idx = u.cursor.idx;
            setCursorX(idx === null || idx === undefined ? null : (u.data[0][idx] as number));
          },
        ],
      },
    };
    const chart = new uPlot(opts, columns.data as uPlot.AlignedData, el);
    plot.current = chart;
    const resize = new ResizeObserver(() => {
      const width = Math.max(el.clientWidth, 200);
      if (width !== chart.width) chart.setSize({ width, height: 240 });
    });
    resize.observe(el);
    return () => {
      resize.disconnect();
      chart.destroy();
      plot.current = null;
    };
    // Rebuilt only when the series or scales change; new values go through setData below.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [structure]);

  const firstData = useRef(true);
  useEffect(() => {
    if (firstData.current) {
      firstData.current = false;
      return;
    }
    plot.current?.setData(columns.data as uPlot.AlignedData);
  }, [columns]);

  const truncated = lines.filter((l) => l.downsampled);
  return (
    <figure className="metric-chart" aria-label={`Chart of ${metric}`}>
      <figcaption>
        <h3 className="mono">{metric}</h3>
        <span className="soft visually-hidden">against {X_LABEL[x]}</span>
        {truncated.length > 0 && (
          <span className="soft" title="Downsampled on the server: each bucket's minimum and maximum are kept">
            {truncated.length === lines.length ? "downsampled" : `${truncated.length} downsampled`} ·{" "}
            {Math.max(...lines.map((l) => l.totalPoints)).toLocaleString()} points max
          </span>
        )}
      </figcaption>
      <div ref={host} className="chart-canvas" />
      <ul className="chart-legend" aria-label={`Legend of ${metric}`}>
        {lines.map((line, i) => {
          let value: number | null | undefined;
          if (cursorX !== null) {
            const j = lastAtOrBefore(sorted[i].xs, cursorX);
            value = j >= 0 ? columns.smoothed[i][j] : undefined;
          } else {
            value = columns.smoothed[i][columns.smoothed[i].length - 1];
          }
          return (
            <li key={line.runId}>
              <span className="swatch" style={{ background: line.color }} aria-hidden="true" />
              <span className="legend-label">{line.label}</span>
              <span className="legend-value mono">{value === undefined || value === null ? "–" : formatValue(value)}</span>
            </li>
          );
        })}
      </ul>
    </figure>
  );
}
