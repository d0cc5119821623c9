import { useEffect, useRef } from "react";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import type { MetricHistory } from "../../api/tracking";

/** NaN and ±Infinity arrive as strings; a chart shows them as gaps. */
function numeric(v: number | string): number | null {
  return typeof v === "number" && Number.isFinite(v) ? v : null;
}

function cssVar(name: string): string {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim() || "#888";
}

/** A small line chart of one metric against its step, in the theme's colours. */
export function MetricChart({ history, height = 220 }: { history: MetricHistory; height?: number }) {
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const width = Math.max(240, el.clientWidth);
    const order = history.steps.map((_, i) => i).sort((a, b) => history.steps[a] - history.steps[b] || history.timestamps[a] - history.timestamps[b]);
    const xs = order.map((i) => history.steps[i]);
    const ys = order.map((i) => numeric(history.values[i]));
    const fg = cssVar("--fg-soft");
    const grid = cssVar("--border");
    const axis = { stroke: fg, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1 } };
    const plot = new uPlot(
      {
        width,
        height,
        scales: { x: { time: false } },
        axes: [{ ...axis, label: "step" }, { ...axis }],
        series: [
          { label: "step" },
          { label: history.key, stroke: cssVar("--accent"), width: 2, points: { show: xs.length < 60 }, spanGaps: false },
        ],
        legend: { show: true },
      },
      [xs, ys as (number | null)[]],
      el,
    );
    // The chart follows its box's width (the page's column), never overflowing it.
    const resize = new ResizeObserver(() => plot.setSize({ width: Math.max(240, el.clientWidth), height }));
    resize.observe(el);
    return () => {
      resize.disconnect();
      plot.destroy();
    };
  }, [history, height]);
  return <div ref={box} className="metric-chart" role="img" aria-label={`History of ${history.key}: ${history.steps.length} points`} />;
}
