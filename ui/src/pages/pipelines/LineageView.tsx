import { memo, useCallback, useEffect, useImperativeHandle, useMemo, useRef, type Ref } from "react";
import type { LineageNode } from "../../api/lineage";
import { nodeLabel, nodeType, type ExplorerGraph } from "./lineageGraph";
import { LINEAGE_NODE_HEIGHT, lineageNodeWidth, type PlacedLineage } from "./useLineageLayout";
import { usePanZoom, ZoomControls } from "./usePanZoom";
import { centreOn, cullWindow, detailAt, fitView, hitTest, overlaps, type Detail, type View } from "./viewport";

export interface LineageViewHandle {
  /** Put a node in the middle, zoomed in enough to read it. */
  focusNode: (key: string) => void;
  fit: () => void;
  view: () => View;
  setView: (view: View) => void;
}

function clip(text: string, width: number): string {
  const room = Math.floor((width - 20) / 6.8);
  return text.length > room ? `${text.slice(0, Math.max(1, room - 1))}…` : text;
}

const TYPE_MARK: Record<string, string> = { run: "▶", dataset: "▤", model: "◆", output: "●" };

const LineageNodeShape = memo(function LineageNodeShape({
  nodeKey,
  node,
  x,
  y,
  detail,
  selected,
  start,
  expandable,
  focusable,
  onSelect,
  onExpand,
  onKey,
}: {
  nodeKey: string;
  node: LineageNode;
  x: number;
  y: number;
  detail: Detail;
  selected: boolean;
  start: boolean;
  expandable: boolean;
  focusable: boolean;
  onSelect: (key: string) => void;
  onExpand: (key: string) => void;
  onKey: (key: string, event: React.KeyboardEvent) => void;
}) {
  const label = nodeLabel(node);
  const type = nodeType(node);
  const w = lineageNodeWidth(label);
  const h = LINEAGE_NODE_HEIGHT;
  const status = node.kind === "run" ? ` lin-status-${node.status}` : "";
  return (
    <g transform={`translate(${x - w / 2},${y - h / 2})`} className={`lin-node lin-${type}${status}${selected ? " selected" : ""}${start ? " start" : ""}`}>
      <g
        role="button"
        tabIndex={focusable ? 0 : -1}
        aria-label={`${type} ${label}`}
        aria-pressed={selected}
        data-node={nodeKey}
        onClick={() => onSelect(nodeKey)}
        onKeyDown={(event) => onKey(nodeKey, event)}
      >
        <rect className="lin-box" width={w} height={h} rx={node.kind === "run" ? 6 : 16} />
        {detail !== "shape" && (
          <text className="lin-label" x={10} y={detail === "full" ? 16 : 23}>
            {TYPE_MARK[type] ?? "●"} {clip(label, w)}
          </text>
        )}
        {detail === "full" && (
          <text className="lin-sub" x={10} y={30}>
            {type}
            {node.kind === "run" && node.status ? ` · ${node.status.toLowerCase()}` : ""}
          </text>
        )}
      </g>
      {expandable && (
        <g
          className="lin-expand"
          role="button"
          tabIndex={-1}
          aria-label={`Expand ${type} ${label}`}
          transform={`translate(${w},${h / 2})`}
          onClick={(event) => {
            event.stopPropagation();
            onExpand(nodeKey);
          }}
        >
          <circle r={9} />
          <path d="M-4.5,0 H4.5 M0,-4.5 V4.5" />
        </g>
      )}
    </g>
  );
});

/**
 * The lineage graph as SVG: only what is near the viewport is in the DOM (culled against a
 * window that moves in half-viewport steps), and labels go when zoomed out (detailAt), so
 * thousands of nodes pan and zoom smoothly.
 */
export function LineageView({
  placed,
  graph,
  selected,
  onSelect,
  onExpand,
  onKey,
  handle,
}: {
  placed: PlacedLineage;
  graph: ExplorerGraph;
  selected: string | undefined;
  onSelect: (key: string) => void;
  onExpand: (key: string) => void;
  onKey: (key: string, event: React.KeyboardEvent) => void;
  handle: Ref<LineageViewHandle>;
}) {
  const content = useMemo(() => ({ width: placed.width, height: placed.height }), [placed.width, placed.height]);
  const { ref, view, setView, handlers, fit, zoomBy, size, dragged } = usePanZoom(content);

  useImperativeHandle(
    handle,
    () => ({
      focusNode: (key) => {
        const at = placed.positions[key];
        if (!at) return;
        const scale = Math.max(view.scale, 0.9);
        setView(centreOn({ ...view, scale }, at[0], at[1], size));
      },
      fit,
      view: () => view,
      setView,
    }),
    [placed, view, size, setView, fit],
  );

  // A new layout (a new graph, or one expanded) is shown whole when it is small enough to read.
  const fitted = useRef(false);
  useEffect(() => {
    if (fitted.current && placed.graph.nodes.size > 500) return;
    fitted.current = true;
    setView(fitView(placed.width, placed.height, size, 24, 1));
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [placed, size.width > 0]);

  useEffect(() => {
    requestAnimationFrame(() => performance.mark("clew:lineage-laid-out"));
  }, [placed]);

  const detail = detailAt(view.scale);
  const cull = cullWindow(view, size);
  const cullKey = `${cull.x},${cull.y},${cull.width},${cull.height}`;
  const focusKey = selected && graph.nodes.has(selected) ? selected : graph.start;

  const overview = detail === "overview";
  const sizeOf = useCallback(
    (key: string) => {
      const node = graph.nodes.get(key);
      return { width: node ? lineageNodeWidth(nodeLabel(node)) : 0, height: LINEAGE_NODE_HEIGHT };
    },
    [graph],
  );
  /** At overview scale: one path per kind of node and one for all edges. */
  const bulk = useMemo(() => {
    if (!overview) return undefined;
    const byType = new Map<string, string[]>();
    for (const [key, [x, y]] of Object.entries(placed.positions)) {
      const node = graph.nodes.get(key);
      if (!node) continue;
      const type = nodeType(node);
      const cls = node.kind === "run" ? `lin-run lin-status-${node.status}` : `lin-${type}`;
      const { width, height } = sizeOf(key);
      const list = byType.get(cls) ?? [];
      list.push(`M${x - width / 2},${y - height / 2}h${width}v${height}h${-width}Z`);
      byType.set(cls, list);
    }
    const edgePath: string[] = [];
    for (const route of Object.values(placed.routes)) {
      edgePath.push(`M${route[0]},${route[1]}`);
      for (let i = 2; i < route.length; i += 2) edgePath.push(`L${route[i]},${route[i + 1]}`);
    }
    return { nodes: [...byType].map(([cls, parts]) => [cls, parts.join("")] as const), edges: edgePath.join("") };
  }, [overview, placed, graph, sizeOf]);

  const nodes = useMemo(() => {
    const shown: [string, number, number][] = [];
    for (const [key, [x, y]] of Object.entries(placed.positions)) {
      // at overview scale only the chosen node is an element of its own (it keeps the focus)
      if (overview && key !== selected && key !== graph.start) continue;
      if (overlaps(x, y, 240, LINEAGE_NODE_HEIGHT, cull)) shown.push([key, x, y]);
    }
    return shown;
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [placed, cullKey, overview, selected, graph.start]);
  const shownKeys = useMemo(() => new Set(nodes.map((n) => n[0])), [nodes]);
  const edges = useMemo(() => {
    const shown: [string, string][] = [];
    if (overview) return shown;
    for (const edge of placed.graph.edges.values()) {
      if (!shownKeys.has(edge.from) && !shownKeys.has(edge.to)) continue;
      const route = placed.routes[edge.key];
      if (!route) continue;
      let d = `M${route[0]},${route[1]}`;
      for (let i = 2; i < route.length; i += 2) d += `L${route[i]},${route[i + 1]}`;
      shown.push([edge.key, d]);
    }
    return shown;
  }, [placed, shownKeys, overview]);

  const onOverviewClick = (event: React.MouseEvent<SVGSVGElement>) => {
    if (dragged.current) return;
    if (!overview || event.target !== event.currentTarget && !(event.target as Element).classList.contains("lin-bulk")) return;
    const box = event.currentTarget.getBoundingClientRect();
    const gx = (event.clientX - box.left - view.x) / view.scale;
    const gy = (event.clientY - box.top - view.y) / view.scale;
    const hit = hitTest(placed.positions, sizeOf, gx, gy, 6 / view.scale);
    if (hit) onSelect(hit);
  };

  return (
    <div className="graph-frame lineage-frame" data-layout-ms={placed.ms.toFixed(1)} data-layout-where={placed.where} data-nodes={placed.graph.nodes.size}>
      <ZoomControls zoomBy={zoomBy} fit={fit} />
      <svg ref={ref} className="graph-svg" role="group" aria-label="Lineage graph (drag to pan, wheel or + and - to zoom, 0 to fit; on a node, arrow keys move along edges, Enter shows it, E expands it)" tabIndex={0} {...handlers} onClick={onOverviewClick}>
        <defs>
          <marker id="lin-arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="6" markerHeight="6" orient="auto-start-reverse">
            <path d="M0,0 L10,5 L0,10 z" className="dag-arrowhead" />
          </marker>
        </defs>
        <g transform={`translate(${view.x},${view.y}) scale(${view.scale})`}>
          {bulk && (
            <g aria-hidden="true">
              <path className="lin-edges-bulk" d={bulk.edges} />
              {bulk.nodes.map(([cls, d]) => (
                <path key={cls} className={`lin-bulk ${cls}`} d={d} />
              ))}
            </g>
          )}
          <g className={`lin-edges${detail === "shape" ? " thin" : ""}`}>
            {edges.map(([key, d]) => (
              <path key={key} d={d} markerEnd={detail === "shape" ? undefined : "url(#lin-arrow)"} />
            ))}
          </g>
          {nodes.map(([key, x, y]) => {
            const node = graph.nodes.get(key);
            if (!node) return null;
            return (
              <LineageNodeShape
                key={key}
                nodeKey={key}
                node={node}
                x={x}
                y={y}
                detail={detail}
                selected={key === selected}
                start={key === graph.start}
                expandable={!graph.expanded.has(key)}
                focusable={key === focusKey}
                onSelect={onSelect}
                onExpand={onExpand}
                onKey={onKey}
              />
            );
          })}
        </g>
      </svg>
      <ul className="graph-legend" aria-label="Legend">
        {["run", "dataset", "model", "output"].map((t) => (
          <li key={t}>
            <span className={`legend-swatch lin-${t}`} aria-hidden="true" />
            {t}
          </li>
        ))}
        <li>
          <span className="legend-plus" aria-hidden="true">+</span> expand
        </li>
        <li className="hint">
          {placed.graph.nodes.size} nodes · laid out in {Math.round(placed.ms)} ms {placed.where === "worker" ? "(worker)" : ""}
        </li>
      </ul>
    </div>
  );
}
