import { useEffect, useMemo, useRef, useState } from "react";
import { formatValue } from "../../components/format";
import { rampColor } from "./colors";
import { brushBetween, makeAxis, passes, position, ticks, type Axis, type Brush } from "./parcoords";

export interface PcRun {
  runId: string;
  label: string;
  params: Record<string, string>;
  metrics: Record<string, number>;
}

interface Props {
  runs: PcRun[];
  params: string[];
  metric: string | null;
}

const HEIGHT = 320;
const TOP = 36;
const BOTTOM = 28;
const SIDE = 70;
const PLOT = HEIGHT - TOP - BOTTOM;
const STEP = 0.1; // keyboard brush step, in axis fractions

/**
 * Params against one metric: an axis per param (numeric ones scaled, others as ordered
 * categories) and the metric's axis last; a line per run coloured from low (blue) to high
 * (red) metric. Drag along an axis to keep only the runs inside the range (several axes
 * combine); on a focused axis, ArrowUp/ArrowDown move a brush and Shift+Arrow grows it, and
 * Escape clears it. Runs filtered out stay as faint lines.
 */
export function ParallelCoordinates({ runs, params, metric }: Props) {
  const svg = useRef<SVGSVGElement>(null);
  const [brushes, setBrushes] = useState<Record<string, Brush>>({});
  const [drag, setDrag] = useState<{ key: string; from: number } | null>(null);
  const [width, setWidth] = useState(1100);
  const wrap = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const el = wrap.current;
    if (!el) return;
    const measure = () => setWidth(Math.max(el.clientWidth, 320));
    measure();
    const observer = new ResizeObserver(measure);
    observer.observe(el);
    return () => observer.disconnect();
  }, []);

  const axes: Axis[] = useMemo(() => {
    const list = params.map((p) => makeAxis(p, runs.map((r) => r.params[p])));
    if (metric) list.push(makeAxis(metric, runs.map((r) => r.metrics[metric])));
    return list;
  }, [runs, params, metric]);
  const valuesOf = (run: PcRun) => [
    ...params.map((p) => run.params[p]),
    ...(metric ? [run.metrics[metric]] : []),
  ];

  const gap = axes.length > 1 ? (width - 2 * SIDE) / (axes.length - 1) : 0;
  const ax = (i: number) => (axes.length > 1 ? SIDE + i * gap : width / 2);
  const ay = (t: number) => TOP + (1 - t) * PLOT;
  const fromY = (clientY: number) => {
    const box = svg.current!.getBoundingClientRect();
    return 1 - (clientY - box.top - TOP) / PLOT;
  };
  const metricAxis = metric ? axes[axes.length - 1] : null;

  const setBrush = (key: string, brush: Brush | null) =>
    setBrushes((all) => {
      const next = { ...all };
      if (brush === null || brush.hi - brush.lo < 0.005) delete next[key];
      else next[key] = brush;
      return next;
    });

  const onKey = (key: string) => (e: React.KeyboardEvent) => {
    const current = brushes[key];
    if (e.key === "Escape") {
      setBrush(key, null);
      e.preventDefault();
      return;
    }
    if (e.key !== "ArrowUp" && e.key !== "ArrowDown") return;
    e.preventDefault();
    const dir = e.key === "ArrowUp" ? 1 : -1;
    if (!current) {
      setBrush(key, dir > 0 ? { lo: 1 - 2 * STEP, hi: 1 } : { lo: 0, hi: 2 * STEP });
    } else if (e.shiftKey) {
      setBrush(key, brushBetween(current.lo - (dir < 0 ? STEP : 0), current.hi + (dir > 0 ? STEP : 0)));
    } else {
      const size = current.hi - current.lo;
      const lo = Math.min(Math.max(current.lo + dir * STEP, 0), 1 - size);
      setBrush(key, { lo, hi: lo + size });
    }
  };

  const kept = runs.filter((r) => passes(axes, valuesOf(r), brushes));
  const keptIds = new Set(kept.map((r) => r.runId));


  return (
    <div className="parcoords" ref={wrap}>
      <p className="soft" role="status" aria-live="polite">
        {Object.keys(brushes).length === 0
          ? `${runs.length} ${runs.length === 1 ? "run" : "runs"}. Drag along an axis, or focus it and press the arrow keys, to filter.`
          : `${kept.length} of ${runs.length} runs in the filtered ranges.`}{" "}
        {Object.keys(brushes).length > 0 && (
          <button type="button" className="ghost" onClick={() => setBrushes({})}>
            Clear filters
          </button>
        )}
      </p>
      <svg
        ref={svg}
        width={width}
        height={HEIGHT}
        role="group"
        aria-label={`Parallel coordinates of ${params.length} params${metric ? ` and ${metric}` : ""}`}
        onPointerMove={(e) => {
          if (!drag) return;
          setBrush(drag.key, brushBetween(drag.from, fromY(e.clientY)));
        }}
        onPointerUp={() => setDrag(null)}
        onPointerLeave={() => setDrag(null)}
      >
        <g className="pc-lines">
          {runs.map((run) => {
            const values = valuesOf(run);
            const t = metricAxis ? position(metricAxis, values[values.length - 1]) : null;
            const color = metricAxis ? (t === null ? "var(--fg-soft)" : rampColor(t)) : "var(--accent)";
            const segments: string[] = [];
            let open = false;
            axes.forEach((axis, i) => {
              const p = position(axis, values[i]);
              if (p === null) {
                open = false;
                return;
              }
              segments.push(`${open ? "L" : "M"}${ax(i).toFixed(1)},${ay(p).toFixed(1)}`);
              open = true;
            });
            const inside = keptIds.has(run.runId);
            return (
              <path
                key={run.runId}
                d={segments.join("")}
                fill="none"
                stroke={color}
                strokeWidth={inside ? 2 : 1}
                opacity={inside ? 0.9 : 0.12}
              >
                <title>{`${run.label}${metric ? `: ${metric} = ${formatValue(run.metrics[metric])}` : ""}`}</title>
              </path>
            );
          })}
        </g>
        {axes.map((axis, i) => {
          const x = ax(i);
          const brush = brushes[axis.key];
          const isMetric = metric !== null && i === axes.length - 1;
          return (
            <g
              key={`${isMetric ? "m" : "p"}:${axis.key}`}
              className="pc-axis"
              tabIndex={0}
              role="slider"
              aria-label={`${isMetric ? "Metric" : "Param"} ${axis.key}: filter range`}
              aria-valuemin={0}
              aria-valuemax={100}
              aria-valuenow={brush ? Math.round(brush.lo * 100) : 0}
              aria-valuetext={brush ? `from ${Math.round(brush.lo * 100)}% to ${Math.round(brush.hi * 100)}% of the axis` : "no filter"}
              onKeyDown={onKey(axis.key)}
              onPointerDown={(e) => {
                (e.target as Element).setPointerCapture?.(e.pointerId);
                const from = fromY(e.clientY);
                setDrag({ key: axis.key, from });
                setBrush(axis.key, null);
              }}
            >
              <rect x={x - 14} y={TOP - 4} width={28} height={PLOT + 8} fill="transparent" className="pc-hit" />
              <line x1={x} x2={x} y1={TOP} y2={TOP + PLOT} className="pc-axis-line" />
              {ticks(axis).map((tick, j) => (
                <g key={j}>
                  <line x1={x - 4} x2={x} y1={ay(tick.at)} y2={ay(tick.at)} className="pc-axis-line" />
                  <text x={x - 7} y={ay(tick.at) + 4} textAnchor="end" className="pc-tick">
                    {tick.label.length > 14 ? tick.label.slice(0, 13) + "…" : tick.label}
                  </text>
                </g>
              ))}
              <text x={x} y={TOP - 14} textAnchor="middle" className={isMetric ? "pc-title pc-metric" : "pc-title"}>
                {axis.key.length > 18 ? axis.key.slice(0, 17) + "…" : axis.key}
                <title>{axis.key}</title>
              </text>
              {brush && (
                <rect
                  x={x - 8}
                  width={16}
                  y={ay(brush.hi)}
                  height={Math.max(ay(brush.lo) - ay(brush.hi), 1)}
                  className="pc-brush"
                />
              )}
            </g>
          );
        })}
      </svg>
      {metricAxis && metricAxis.kind === "numeric" && (
        <p className="pc-scale soft" aria-hidden="true">
          <span>{formatValue(metricAxis.min)}</span>
          <span className="pc-ramp" />
          <span>{formatValue(metricAxis.max)}</span> {metric}
        </p>
      )}
    </div>
  );
}
