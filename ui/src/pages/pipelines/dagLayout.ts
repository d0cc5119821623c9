/**
 * Coordinates for a pipeline DAG (dagModel.ts's input) from dagre: left to right, loop and
 * nested-pipeline boxes as dagre clusters, edges routed as polylines.
 */
import dagre from "@dagrejs/dagre";
import type { DagEdgeKind, DagGroup, DagInput, DagNode } from "./dagModel";

export interface Point {
  x: number;
  y: number;
}

export interface PlacedNode extends DagNode {
  x: number;
  y: number;
}

export interface PlacedEdge {
  from: string;
  to: string;
  kind: DagEdgeKind;
  label?: string;
  points: Point[];
}

export interface PlacedGroup extends DagGroup {
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface DagLayout {
  width: number;
  height: number;
  nodes: PlacedNode[];
  edges: PlacedEdge[];
  groups: PlacedGroup[];
}

export function layoutDag(input: DagInput): DagLayout {
  const g = new dagre.graphlib.Graph({ compound: true, multigraph: true });
  g.setGraph({ rankdir: "LR", nodesep: 14, ranksep: 56, edgesep: 8, marginx: 16, marginy: 16 });
  g.setDefaultEdgeLabel(() => ({}));
  for (const group of input.groups) g.setNode(group.id, { label: group.label, paddingTop: 28 });
  for (const group of input.groups) if (group.parent) g.setParent(group.id, group.parent);
  for (const node of input.nodes) {
    g.setNode(node.id, { width: node.width, height: node.height });
    if (node.group) g.setParent(node.id, node.group);
  }
  input.edges.forEach((edge, i) => {
    g.setEdge(edge.from, edge.to, { weight: edge.kind === "data" ? 2 : 1 }, String(i));
  });
  dagre.layout(g);
  const nodes = input.nodes.map((node) => {
    const placed = g.node(node.id);
    return { ...node, x: placed.x, y: placed.y };
  });
  const edges = input.edges.map((edge, i) => ({
    ...edge,
    points: (g.edge({ v: edge.from, w: edge.to, name: String(i) })?.points ?? []).map((p: Point) => ({ x: p.x, y: p.y })),
  }));
  const groups = input.groups
    .filter((group) => g.children(group.id)?.length)
    .map((group) => {
      const placed = g.node(group.id);
      return { ...group, x: placed.x, y: placed.y, width: placed.width, height: placed.height };
    });
  const graph = g.graph();
  return { width: graph.width ?? 0, height: graph.height ?? 0, nodes, edges, groups };
}
