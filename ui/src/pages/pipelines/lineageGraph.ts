/**
 * The lineage explorer's graph: what the walks fetched so far, merged. A node is keyed
 * `run:<id>` or `artifact:<id>` as the API's `start` is; an OUTPUT edge points from the run to
 * what it wrote, an INPUT edge from what a run read to the run, so every edge points
 * downstream. Expanding a node merges another walk from it (mergeWalk); nothing is dropped.
 */
import type { LineageEdge, LineageGraph, LineageNode } from "../../api/lineage";

export interface ExplorerEdge {
  key: string;
  from: string;
  to: string;
  type: "INPUT" | "OUTPUT";
  name: string;
}

export interface ExplorerGraph {
  start: string;
  nodes: Map<string, LineageNode>;
  edges: Map<string, ExplorerEdge>;
  /** Nodes whose neighbours have been fetched (the start, and each one expanded). */
  expanded: Set<string>;
  truncated: boolean;
}

export const nodeKey = (node: Pick<LineageNode, "kind" | "id">) => `${node.kind}:${node.id}`;

export function explorerEdge(edge: LineageEdge): ExplorerEdge {
  const run = `run:${edge.run}`;
  const artifact = `artifact:${edge.artifact}`;
  const [from, to] = edge.type === "OUTPUT" ? [run, artifact] : [artifact, run];
  return { key: `${from}>${to}:${edge.name}`, from, to, type: edge.type, name: edge.name };
}

export function emptyGraph(): ExplorerGraph {
  return { start: "", nodes: new Map(), edges: new Map(), expanded: new Set(), truncated: false };
}

/** How a walk went: one way (upstream or downstream) this many runs deep. */
export interface Walked {
  direction: "upstream" | "downstream" | "both";
  depth: number;
}

/** The first walk: the graph it found, its start expanded. */
export function fromWalk(walk: LineageGraph, walked?: Walked): ExplorerGraph {
  return mergeWalk({ ...emptyGraph(), start: walk.start }, walk, walk.start, walked);
}

/**
 * The nodes a one-way walk has seen all there is of, that way: those nearer its start than its
 * depth reaches. Each run hop is two edges (run → artifact → run), so from a run `depth` hops
 * see everything of the nodes under 2·depth edges away; from an artifact, under 2·depth − 1.
 * Nothing is sure of a walk cut at its node limit, or of one that went both ways (a node
 * upstream of the start has other consumers the walk did not look for).
 */
export function completeNodes(walk: LineageGraph, walked: Walked): Set<string> {
  if (walk.truncated || walked.direction === "both") return new Set([walk.start]);
  const up = walked.direction === "upstream";
  const next = new Map<string, string[]>();
  for (const raw of walk.edges) {
    const edge = explorerEdge(raw);
    const [a, b] = up ? [edge.to, edge.from] : [edge.from, edge.to];
    next.set(a, [...(next.get(a) ?? []), b]);
  }
  const limit = 2 * walked.depth - (walk.start.startsWith("artifact:") ? 1 : 0);
  const distance = new Map([[walk.start, 0]]);
  const queue = [walk.start];
  for (let i = 0; i < queue.length; i++) {
    const here = queue[i];
    for (const there of next.get(here) ?? []) {
      if (distance.has(there)) continue;
      distance.set(there, distance.get(here)! + 1);
      queue.push(there);
    }
  }
  return new Set([...distance].filter(([, d]) => d < limit).map(([k]) => k));
}

/**
 * `graph` with `walk` (fetched from `from`) merged in, as a new graph; `added` lists the keys of
 * nodes it did not have. Edges whose ends the walk did not return are kept out.
 */
export function mergeWalk(
  graph: ExplorerGraph,
  walk: LineageGraph,
  from: string,
  walked?: Walked,
): ExplorerGraph & { added: string[] } {
  const nodes = new Map(graph.nodes);
  const edges = new Map(graph.edges);
  const added: string[] = [];
  for (const node of walk.nodes) {
    const key = nodeKey(node);
    if (!nodes.has(key)) added.push(key);
    nodes.set(key, node);
  }
  for (const raw of walk.edges) {
    const edge = explorerEdge(raw);
    if (nodes.has(edge.from) && nodes.has(edge.to)) edges.set(edge.key, edge);
  }
  const expanded = new Set(graph.expanded);
  expanded.add(from);
  if (walk.start) expanded.add(walk.start);
  if (walked) for (const key of completeNodes(walk, walked)) expanded.add(key);
  return {
    start: graph.start || walk.start,
    nodes,
    edges,
    expanded,
    truncated: graph.truncated || walk.truncated,
    added,
  };
}

/** Upstream and downstream neighbours of each node. */
export function adjacency(graph: ExplorerGraph): Map<string, { up: string[]; down: string[] }> {
  const out = new Map<string, { up: string[]; down: string[] }>();
  for (const key of graph.nodes.keys()) out.set(key, { up: [], down: [] });
  for (const edge of graph.edges.values()) {
    out.get(edge.to)?.up.push(edge.from);
    out.get(edge.from)?.down.push(edge.to);
  }
  return out;
}

/** A short, readable name for a node. */
export function nodeLabel(node: LineageNode): string {
  if (node.kind === "run") return node.name || node.id.slice(0, 8);
  return node.name || node.digest.slice(0, 12) || node.id;
}

/** A node's kind as the legend names it: run, dataset, model, output, … */
export function nodeType(node: LineageNode): string {
  if (node.kind === "run") return "run";
  if (node.type === "pipeline_output") return "output";
  return node.type || "artifact";
}

/**
 * Nodes matching `query` (name, id, digest or URI, any case), best first: an exact name, then
 * a name that starts with it, then one that contains it, then the other fields.
 */
export function searchNodes(graph: ExplorerGraph, query: string, limit = 20): string[] {
  const q = query.trim().toLowerCase();
  if (!q) return [];
  const scored: [number, string, string][] = [];
  for (const [key, node] of graph.nodes) {
    const name = nodeLabel(node).toLowerCase();
    let score = -1;
    if (name === q) score = 0;
    else if (name.startsWith(q)) score = 1;
    else if (name.includes(q)) score = 2;
    else if (node.id.toLowerCase().startsWith(q) || node.digest.toLowerCase().startsWith(q)) score = 3;
    else if (node.uri.toLowerCase().includes(q) || node.type.toLowerCase() === q) score = 4;
    if (score >= 0) scored.push([score, name, key]);
  }
  scored.sort((a, b) => a[0] - b[0] || a[1].localeCompare(b[1]) || a[2].localeCompare(b[2]));
  return scored.slice(0, limit).map((s) => s[2]);
}

/** Where a node's page is in the app, if it has one. */
export function nodeHref(node: LineageNode): string | undefined {
  if (node.kind === "run") return `/runs/${node.id}`;
  if (node.type === "model") {
    const version = /^(.+)\/(\d+)$/.exec(node.name);
    if (version) return `/models/${encodeURIComponent(version[1])}/versions/${version[2]}`;
  }
  const run = /^runs:\/([0-9a-f]{32})\//.exec(node.uri);
  if (run) return `/runs/${run[1]}`;
  return undefined;
}
