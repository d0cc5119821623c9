import { useEffect, useMemo, useRef } from "react";
import { formatDuration } from "../../components/format";
import type { DagLayout, PlacedNode, Point } from "./dagLayout";
import { usePanZoom, ZoomControls } from "./usePanZoom";

function path(points: Point[]): string {
  if (points.length === 0) return "";
  const [first, ...rest] = points;
  return `M${first.x},${first.y}` + rest.map((p) => `L${p.x},${p.y}`).join("");
}

function clip(text: string, width: number): string {
  const room = Math.floor((width - 30) / 7);
  return text.length > room ? `${text.slice(0, Math.max(1, room - 1))}…` : text;
}

function StepNode({ node, selected, onSelect }: { node: PlacedNode; selected: boolean; onSelect: (n: PlacedNode) => void }) {
  const x = node.x - node.width / 2;
  const y = node.y - node.height / 2;
  const duration = node.run ? formatDuration(node.run.start, node.run.end) : "";
  const sub = [node.state.toLowerCase(), duration, node.isFinally ? "finally" : ""].filter(Boolean).join(" · ");
  const label = `${node.label}: ${node.state}${node.cached ? " (cached)" : ""}${node.condition ? `, runs if ${node.condition}` : ""}`;
  return (
    <g
      className={`dag-node dag-${node.state}${selected ? " selected" : ""}`}
      transform={`translate(${x},${y})`}
      role="button"
      tabIndex={0}
      aria-label={label}
      aria-pressed={selected}
      data-step={node.id}
      data-state={node.state}
      onClick={() => onSelect(node)}
      onKeyDown={(event) => {
        if (event.key === "Enter" || event.key === " ") {
          event.preventDefault();
          onSelect(node);
        }
      }}
    >
      <title>{label}</title>
      <rect className="dag-box" width={node.width} height={node.height} rx={8} />
      <rect className="dag-stripe" width={5} height={node.height} rx={2} />
      <text className="dag-label" x={14} y={19}>
        {clip(node.label, node.width)}
      </text>
      <text className="dag-sub" x={14} y={36}>
        {clip(sub, node.width)}
      </text>
      {node.cached && (
        <g className="dag-cached-mark" transform={`translate(${node.width - 22},${node.height / 2})`} aria-hidden="true">
          <circle r={9} />
          <text textAnchor="middle" y={4}>
            C
          </text>
        </g>
      )}
      {node.condition && (
        <g className="dag-cond-mark" transform={`translate(${node.width - (node.cached ? 42 : 22)},${node.height / 2})`} aria-hidden="true">
          <path d="M0,-8 L8,0 L0,8 L-8,0 Z" />
          <text textAnchor="middle" y={3.5}>
            ?
          </text>
        </g>
      )}
    </g>
  );
}

/** A pipeline run's DAG, drawn as SVG with pan and zoom; nodes are buttons. */
export function DagView({
  layout,
  selected,
  onSelect,
}: {
  layout: DagLayout;
  selected: string | undefined;
  onSelect: (node: PlacedNode) => void;
}) {
  const content = useMemo(() => ({ width: layout.width, height: layout.height }), [layout.width, layout.height]);
  const { ref, view, handlers, fit, zoomBy, size } = usePanZoom(content);
  const fitted = useRef(false);
  useEffect(() => {
    if (!fitted.current && size.width > 0) {
      fitted.current = true;
      fit();
    }
  }, [fit, size]);

  return (
    <div className="graph-frame dag-frame">
      <ZoomControls zoomBy={zoomBy} fit={fit} />
      <svg
        ref={ref}
        className="graph-svg"
        role="group"
        aria-label="Pipeline steps (drag to pan, wheel or + and - to zoom, 0 to fit)"
        tabIndex={0}
        {...handlers}
      >
        <defs>
          <marker id="dag-arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">
            <path d="M0,0 L10,5 L0,10 z" className="dag-arrowhead" />
          </marker>
        </defs>
        <g transform={`translate(${view.x},${view.y}) scale(${view.scale})`}>
          {layout.groups.map((group) => (
            <g key={group.id} className={`dag-group dag-group-${group.kind}`}>
              <rect x={group.x - group.width / 2} y={group.y - group.height / 2} width={group.width} height={group.height} rx={10} />
              <text x={group.x - group.width / 2 + 8} y={group.y + group.height / 2 + 15}>
                {group.kind === "loop" ? "⟳ " : "▣ "}
                {group.label}
              </text>
            </g>
          ))}
          {layout.edges.map((edge, i) => (
            <path key={i} className={`dag-edge dag-edge-${edge.kind}`} d={path(edge.points)} markerEnd="url(#dag-arrow)" />
          ))}
          {layout.nodes.map((node) => (
            <StepNode key={node.id} node={node} selected={node.id === selected} onSelect={onSelect} />
          ))}
        </g>
      </svg>
      <ul className="graph-legend" aria-label="Legend">
        {["SUCCEEDED", "CACHED", "RUNNING", "FAILED", "SKIPPED", "PENDING"].map((s) => (
          <li key={s}>
            <span className={`legend-swatch dag-${s}`} aria-hidden="true" />
            {s.toLowerCase()}
          </li>
        ))}
        <li>
          <span className="legend-cond" aria-hidden="true">?</span> conditional
        </li>
      </ul>
    </div>
  );
}
