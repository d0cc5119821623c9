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
  /** A node to keep as a node of its own whatever its edges (the walk's start). */
  keep?: string;
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

/** Above this many nodes and edges, the layout trades a little quality for speed (see below). */
export const BIG_GRAPH = 600;

/**
 * The artifacts that only pass a value along (written by one run, read by one run): drawn where
 * the edge between those runs runs, as dagre draws an edge's label. A lineage graph is mostly
 * these (each step output between two steps), so this halves what dagre has to order.
 */
export function passThrough(request: LayoutRequest, keep: string | undefined): Map<string, { in: LayoutEdgeIn; out: LayoutEdgeIn }> {
  const ins = new Map<string, LayoutEdgeIn[]>();
  const outs = new Map<string, LayoutEdgeIn[]>();
  for (const edge of request.edges) {
    if (edge.from === edge.to) continue;
    ins.set(edge.to, [...(ins.get(edge.to) ?? []), edge]);
    outs.set(edge.from, [...(outs.get(edge.from) ?? []), edge]);
  }
  const found = new Map<string, { in: LayoutEdgeIn; out: LayoutEdgeIn }>();
  for (const node of request.nodes) {
    if (!node.key.startsWith("artifact:") || node.key === keep) continue;
    const i = ins.get(node.key);
    const o = outs.get(node.key);
    if (i?.length === 1 && o?.length === 1 && i[0].from !== o[0].to && !found.has(i[0].from) && !found.has(o[0].to)) {
      found.set(node.key, { in: i[0], out: o[0] });
    }
  }
  return found;
}

interface OrderGraph {
  nodes(): string[];
  node(v: string): { rank?: number; order?: number };
  predecessors(v: string): string[] | undefined;
  successors(v: string): string[] | undefined;
}

/**
 * Node order within each rank by a few barycentre sweeps: dagre's own ordering (up to dozens
 * of sweeps, each rebuilding per-rank graphs) is most of the time of a 2,000-node layout.
 */
export function barycentreOrder(g: OrderGraph, sweeps = 4): void {
  const layers: string[][] = [];
  for (const v of g.nodes()) {
    const rank = g.node(v).rank ?? 0;
    (layers[rank] ??= []).push(v);
  }
  const pos = new Map<string, number>();
  for (const layer of layers) layer?.forEach((v, i) => pos.set(v, i));
  for (let sweep = 0; sweep < sweeps; sweep++) {
    const down = sweep % 2 === 0;
    for (let k = 0; k < layers.length; k++) {
      const layer = layers[down ? k : layers.length - 1 - k];
      if (!layer) continue;
      const weight = new Map<string, number>();
      for (const v of layer) {
        const near = (down ? g.predecessors(v) : g.successors(v)) ?? [];
        let sum = 0;
        for (const u of near) sum += pos.get(u) ?? 0;
        weight.set(v, near.length ? sum / near.length : (pos.get(v) ?? 0));
      }
      layer.sort((a, b) => weight.get(a)! - weight.get(b)! || pos.get(a)! - pos.get(b)!);
      layer.forEach((v, i) => pos.set(v, i));
    }
  }
  for (const [v, i] of pos) g.node(v).order = i;
}

/**
 * dagre's layout of the graph. Small graphs get dagre's best (network-simplex ranks, its own
 * crossing minimisation). A big one (over BIG_GRAPH elements) gets longest-path ranks (each node as near its consumers as it can be), the
 * barycentre ordering above, and its pass-through artifacts laid out as edge labels: the same
 * left-to-right picture, in a fraction of the time.
 */
export function layoutLineage(request: LayoutRequest): LayoutResult {
  const started = performance.now();
  const big = request.nodes.length + request.edges.length > BIG_GRAPH;
  const inlined = big ? passThrough(request, request.keep) : new Map<string, { in: LayoutEdgeIn; out: LayoutEdgeIn }>();
  const sizes = new Map(request.nodes.map((n) => [n.key, n]));
  const g = new dagre.graphlib.Graph({ multigraph: true });
  g.setGraph({ rankdir: "LR", nodesep: 10, ranksep: 60, edgesep: 6, marginx: 20, marginy: 20, ...(big ? { ranker: "longest-path" } : {}) });
  g.setDefaultEdgeLabel(() => ({}));
  for (const node of request.nodes) {
    if (!inlined.has(node.key)) g.setNode(node.key, { width: node.width, height: node.height });
  }
  const joined = new Set<string>();
  for (const [key, { in: a, out: b }] of inlined) {
    const size = sizes.get(key)!;
    g.setEdge(a.from, b.to, { width: size.width, height: size.height + 6, labelpos: "c" }, `via:${key}`);
    joined.add(a.key).add(b.key);
  }
  for (const edge of request.edges) {
    if (edge.from !== edge.to && !joined.has(edge.key)) g.setEdge(edge.from, edge.to, {}, edge.key);
  }
  dagre.layout(g, big ? { customOrder: (graph: OrderGraph) => barycentreOrder(graph) } : undefined);
  const positions: Record<string, [number, number]> = {};
  for (const node of request.nodes) {
    const placed = g.node(node.key);
    if (placed) positions[node.key] = [placed.x, placed.y];
  }
  const routes: Record<string, number[]> = {};
  const flat = (points: { x: number; y: number }[]) => points.flatMap((p) => [p.x, p.y]);
  for (const edge of request.edges) {
    if (joined.has(edge.key)) continue;
    const placed = g.edge({ v: edge.from, w: edge.to, name: edge.key });
    if (placed?.points) routes[edge.key] = flat(placed.points);
  }
  for (const [key, { in: a, out: b }] of inlined) {
    const placed = g.edge({ v: a.from, w: b.to, name: `via:${key}` });
    const x = placed.x as number;
    const y = placed.y as number;
    positions[key] = [x, y];
    const points: { x: number; y: number }[] = placed.points ?? [];
    const half = points.length >> 1;
    const size = sizes.get(key)!;
    routes[a.key] = flat([...points.slice(0, half), { x: x - size.width / 2, y }]);
    routes[b.key] = flat([{ x: x + size.width / 2, y }, ...points.slice(half)]);
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
