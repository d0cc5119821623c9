/**
 * Coordinates for the lineage graph from dagre, upstream on the left. Takes and returns plain
 * data, so the same function runs in the page or in a Web Worker (lineage.worker.ts).
 */
import dagre from "@dagrejs/dagre";

export interface LayoutNodeIn {
  key: string;
  width: number;
  height: number;
}

export interface LayoutEdgeIn {
  key: string;
  from: string;
  to: string;
}

export interface LayoutRequest {
  id: number;
  nodes: LayoutNodeIn[];
  edges: LayoutEdgeIn[];
}

export interface LayoutResult {
  id: number;
  width: number;
  height: number;
  /** key → [x, y] (centre). */
  positions: Record<string, [number, number]>;
  /** edge key → flat [x0, y0, x1, y1, …]. */
  routes: Record<string, number[]>;
  ms: number;
}

export function layoutLineage(request: LayoutRequest): LayoutResult {
  const started = performance.now();
  const g = new dagre.graphlib.Graph({ multigraph: true });
  g.setGraph({ rankdir: "LR", nodesep: 10, ranksep: 60, edgesep: 6, marginx: 20, marginy: 20 });
  g.setDefaultEdgeLabel(() => ({}));
  for (const node of request.nodes) g.setNode(node.key, { width: node.width, height: node.height });
  for (const edge of request.edges) {
    if (edge.from !== edge.to) g.setEdge(edge.from, edge.to, {}, edge.key);
  }
  dagre.layout(g);
  const positions: Record<string, [number, number]> = {};
  for (const node of request.nodes) {
    const placed = g.node(node.key);
    positions[node.key] = [placed.x, placed.y];
  }
  const routes: Record<string, number[]> = {};
  for (const edge of request.edges) {
    const placed = g.edge({ v: edge.from, w: edge.to, name: edge.key });
    if (placed?.points) routes[edge.key] = placed.points.flatMap((p: { x: number; y: number }) => [p.x, p.y]);
  }
  const graph = g.graph();
  return {
    id: request.id,
    width: graph.width ?? 0,
    height: graph.height ?? 0,
    positions,
    routes,
    ms: performance.now() - started,
  };
}

/**
 * Whether to lay out in a worker: when the last layouts took over `budgetMs` per this many
 * elements, or, before any was measured, when the graph is big (a few hundred elements take
 * dagre about 100 ms on a slow machine).
 */
export function layoutOffThread(
  elements: number,
  measured: { elements: number; ms: number } | undefined,
  budgetMs = 100,
): boolean {
  if (!measured || measured.elements < 50) return elements > 400;
  return (measured.ms / measured.elements) * elements > budgetMs;
}
