import { describe, expect, it } from "vitest";
import { datasetStart, startOf, type LineageGraph, type LineageNode } from "../src/api/lineage";
import {
  adjacency,
  completeNodes,
  fromWalk,
  mergeWalk,
  nodeHref,
  searchNodes,
} from "../src/pages/pipelines/lineageGraph";
import {
  barycentreOrder,
  BIG_GRAPH,
  layoutLineage,
  layoutOffThread,
  passThrough,
  type LayoutRequest,
} from "../src/pages/pipelines/lineageLayout";
import { layoutRequest } from "../src/pages/pipelines/useLineageLayout";
import {
  centreOn,
  cullWindow,
  detailAt,
  fitView,
  hitTest,
  overlaps,
  visibleRect,
  zoomAt,
} from "../src/pages/pipelines/viewport";

const run = (id: string, name: string): LineageNode => ({ kind: "run", id, type: "run", name, digest: "", uri: "", status: "FINISHED" });
const art = (id: string, name: string, type = "pipeline_output", extra: Partial<LineageNode> = {}): LineageNode => ({
  kind: "artifact",
  id,
  type,
  name,
  digest: `${id}`.padEnd(16, "0"),
  uri: `runs:/${"c".repeat(32)}/outputs/${name}`,
  status: "",
  ...extra,
});

// dataset(1) → load(r1) → frame(2) → train(r2) → model(3)
const FIRST: LineageGraph = {
  start: "run:r2",
  nodes: [run("r2", "train"), art("2", "frame"), art("3", "model", "model")],
  edges: [
    { run: "r2", artifact: "2", type: "INPUT", name: "frame" },
    { run: "r2", artifact: "3", type: "OUTPUT", name: "model" },
  ],
  truncated: false,
};
const FROM_FRAME: LineageGraph = {
  start: "artifact:2",
  nodes: [art("2", "frame"), run("r1", "load"), run("r2", "train")],
  edges: [
    { run: "r1", artifact: "2", type: "OUTPUT", name: "output" },
    { run: "r2", artifact: "2", type: "INPUT", name: "frame" },
  ],
  truncated: true,
};

describe("merging walks on expand", () => {
  it("points every edge downstream and expands the start", () => {
    const g = fromWalk(FIRST);
    expect(g.start).toBe("run:r2");
    expect([...g.expanded]).toEqual(["run:r2"]);
    expect([...g.edges.values()].map((e) => `${e.from}>${e.to}`)).toEqual(["artifact:2>run:r2", "run:r2>artifact:3"]);
  });

  it("adds what is new, keeps what was there, and marks the node expanded", () => {
    const g = fromWalk(FIRST);
    const merged = mergeWalk(g, FROM_FRAME, "artifact:2");
    expect(merged.added).toEqual(["run:r1"]);
    expect(merged.nodes.size).toBe(4);
    expect(merged.edges.size).toBe(3); // the INPUT edge both walks saw counts once
    expect(merged.expanded.has("artifact:2")).toBe(true);
    expect(merged.start).toBe("run:r2");
    expect(merged.truncated).toBe(true);
    // the old graph is left as it was
    expect(g.nodes.size).toBe(3);
    expect(g.expanded.has("artifact:2")).toBe(false);
  });

  it("drops edges to nodes the walk did not return", () => {
    const walk: LineageGraph = { ...FROM_FRAME, nodes: [art("2", "frame")], truncated: false };
    expect(mergeWalk(fromWalk(FIRST), walk, "artifact:2").edges.size).toBe(2);
  });

  it("knows each node's neighbours both ways", () => {
    const links = adjacency(mergeWalk(fromWalk(FIRST), FROM_FRAME, "artifact:2"));
    expect(links.get("artifact:2")).toEqual({ up: ["run:r1"], down: ["run:r2"] });
  });
});

describe("which nodes still have something to expand", () => {
  // model(3) ← train(r2) ← frame(2) ← load(r1) ← data(1), walked upstream from the model
  const chain: LineageGraph = {
    start: "artifact:3",
    nodes: [art("3", "model", "model"), run("r2", "train"), art("2", "frame"), run("r1", "load"), art("1", "data", "dataset")],
    edges: [
      { run: "r2", artifact: "3", type: "OUTPUT", name: "model" },
      { run: "r2", artifact: "2", type: "INPUT", name: "frame" },
      { run: "r1", artifact: "2", type: "OUTPUT", name: "output" },
      { run: "r1", artifact: "1", type: "INPUT", name: "data" },
    ],
    truncated: false,
  };
  it("knows a one-way walk saw all of the nodes its depth went past", () => {
    // from an artifact, depth 1 reaches its writer (r2) but not what r2 read
    expect([...completeNodes(chain, { direction: "upstream", depth: 1 })]).toEqual(["artifact:3"]);
    expect([...completeNodes(chain, { direction: "upstream", depth: 2 })].sort()).toEqual(["artifact:2", "artifact:3", "run:r2"]);
    const fromRun = { ...chain, start: "run:r2" };
    expect([...completeNodes(fromRun, { direction: "upstream", depth: 1 })].sort()).toEqual(["artifact:2", "run:r2"]);
  });
  it("is sure of nothing but the start after a cut or a two-way walk", () => {
    expect([...completeNodes({ ...chain, truncated: true }, { direction: "upstream", depth: 5 })]).toEqual(["artifact:3"]);
    expect([...completeNodes(chain, { direction: "both", depth: 5 })]).toEqual(["artifact:3"]);
  });
  it("marks them expanded when the walk is merged", () => {
    const g = fromWalk(chain, { direction: "upstream", depth: 2 });
    expect([...g.expanded].sort()).toEqual(["artifact:2", "artifact:3", "run:r2"]);
  });
});

describe("finding and opening nodes", () => {
  const g = mergeWalk(fromWalk(FIRST), FROM_FRAME, "artifact:2");
  it("ranks an exact name first, then prefixes, then the rest", () => {
    expect(searchNodes(g, "model")).toEqual(["artifact:3"]);
    expect(searchNodes(g, "TRA")).toEqual(["run:r2"]);
    expect(searchNodes(g, "a")).toEqual(["artifact:2", "run:r1", "run:r2"]); // frame, load, train
    expect(searchNodes(g, "  ")).toEqual([]);
  });
  it("links runs, model versions and step outputs to their pages", () => {
    expect(nodeHref(run("ab", "x"))).toBe("/runs/ab");
    expect(nodeHref(art("9", "breast-cancer-forest/3", "model", { uri: "models:/m-1" }))).toBe("/models/breast-cancer-forest/versions/3");
    expect(nodeHref(art("9", "out"))).toBe(`/runs/${"c".repeat(32)}`);
    expect(nodeHref(art("9", "iris", "dataset", { uri: '{"uri": "s3://b/iris"}' }))).toBeUndefined();
  });
  it("walks on from a node by run id, URI or digest", () => {
    expect(startOf(run("ab", "x"))).toEqual({ run_id: "ab" });
    expect(startOf(art("9", "out"))).toEqual({ artifact: `runs:/${"c".repeat(32)}/outputs/out` });
    expect(startOf(art("9", "d", "dataset", { uri: "", digest: "abcdef0123456789" }))).toEqual({ artifact: "sha256:abcdef0123456789" });
    expect(datasetStart("a2c37ad5e0b5e7ad")).toEqual({ artifact: "sha256:a2c37ad5e0b5e7ad" });
    expect(datasetStart("sha256:a2c37ad5e0b5e7ad")).toEqual({ artifact: "sha256:a2c37ad5e0b5e7ad" });
    expect(datasetStart("s3://bucket/iris.csv")).toEqual({ artifact: "s3://bucket/iris.csv" });
  });
});

describe("level of detail and pan/zoom", () => {
  it("hides labels when zoomed out", () => {
    expect([detailAt(1), detailAt(0.75), detailAt(0.5), detailAt(0.39), detailAt(0.15), detailAt(0.05)]).toEqual(["full", "full", "label", "shape", "shape", "overview"]);
  });
  it("zooms about the pointer", () => {
    const v = zoomAt({ scale: 1, x: 0, y: 0 }, 2, 100, 50);
    expect(v).toEqual({ scale: 2, x: -100, y: -50 });
    // the graph point under the pointer stays there
    expect((100 - v.x) / v.scale).toBe(100);
    expect(zoomAt({ scale: 3, x: 0, y: 0 }, 10, 0, 0).scale).toBe(3);
  });
  it("fits a graph in the viewport, never magnified past 1", () => {
    expect(fitView(2000, 500, { width: 1000, height: 500 }, 0)).toEqual({ scale: 0.5, x: 0, y: 125 });
    expect(fitView(100, 100, { width: 1000, height: 500 }, 0).scale).toBe(1);
  });
  it("culls against a window that only moves in half-viewport steps", () => {
    const viewport = { width: 1000, height: 500 };
    const a = cullWindow({ scale: 1, x: 0, y: 0 }, viewport);
    const b = cullWindow({ scale: 1, x: -100, y: -40 }, viewport);
    expect(b).toEqual(a);
    const seen = visibleRect({ scale: 1, x: -100, y: -40 }, viewport);
    expect(a.x).toBeLessThanOrEqual(seen.x);
    expect(a.x + a.width).toBeGreaterThanOrEqual(seen.x + seen.width);
    expect(overlaps(50, 50, 10, 10, a)).toBe(true);
    expect(overlaps(5000, 50, 10, 10, a)).toBe(false);
    const c = centreOn({ scale: 2, x: 0, y: 0 }, 10, 10, viewport);
    expect(c).toEqual({ scale: 2, x: 480, y: 230 });
  });
});

describe("the lineage layout", () => {
  it("puts upstream on the left and routes every edge", () => {
    const g = mergeWalk(fromWalk(FIRST), FROM_FRAME, "artifact:2");
    const result = layoutLineage(layoutRequest(g, 7));
    expect(result.id).toBe(7);
    const x = (k: string) => result.positions[k][0];
    expect(x("run:r1")).toBeLessThan(x("artifact:2"));
    expect(x("artifact:2")).toBeLessThan(x("run:r2"));
    expect(x("run:r2")).toBeLessThan(x("artifact:3"));
    expect(Object.keys(result.routes)).toHaveLength(g.edges.size);
  });
  it("goes to a worker when the last layout says this one would take over 100 ms", () => {
    expect(layoutOffThread(100, undefined)).toBe(false);
    expect(layoutOffThread(5000, undefined)).toBe(true);
    expect(layoutOffThread(300, { elements: 1000, ms: 200 })).toBe(false);
    expect(layoutOffThread(600, { elements: 1000, ms: 200 })).toBe(true);
  });
});

/** source → out0 → [n runs each reading it, writing an output read by sink] → sink. */
function fan(n: number): LayoutRequest {
  const nodes = [{ key: "run:src", width: 120, height: 38 }, { key: "artifact:o", width: 120, height: 38 }, { key: "run:sink", width: 120, height: 38 }];
  const edges = [{ key: "src>o", from: "run:src", to: "artifact:o" }];
  for (let i = 0; i < n; i++) {
    nodes.push({ key: `run:r${i}`, width: 120, height: 38 }, { key: `artifact:a${i}`, width: 140, height: 38 });
    edges.push(
      { key: `o>r${i}`, from: "artifact:o", to: `run:r${i}` },
      { key: `r${i}>a${i}`, from: `run:r${i}`, to: `artifact:a${i}` },
      { key: `a${i}>sink`, from: `artifact:a${i}`, to: "run:sink" },
    );
  }
  return { id: 1, nodes, edges, keep: "run:sink" };
}

describe("big graphs", () => {
  it("finds the artifacts that only pass a value from one run to the next", () => {
    const found = passThrough(fan(3), undefined);
    expect([...found.keys()].sort()).toEqual(["artifact:a0", "artifact:a1", "artifact:a2"]);
    expect(found.get("artifact:a1")).toEqual({ in: { key: "r1>a1", from: "run:r1", to: "artifact:a1" }, out: { key: "a1>sink", from: "artifact:a1", to: "run:sink" } });
    expect(passThrough(fan(3), "artifact:a1").has("artifact:a1")).toBe(false); // the start stays a node
  });

  it("lays every node and edge out, pass-through artifacts between their runs, none overlapping", () => {
    const request = fan(200);
    expect(request.nodes.length + request.edges.length).toBeGreaterThan(BIG_GRAPH);
    const result = layoutLineage(request);
    expect(Object.keys(result.positions)).toHaveLength(request.nodes.length);
    expect(Object.keys(result.routes)).toHaveLength(request.edges.length);
    for (let i = 0; i < 200; i += 37) {
      const [rx] = result.positions[`run:r${i}`];
      const [ax] = result.positions[`artifact:a${i}`];
      expect(rx).toBeLessThan(ax);
      expect(ax).toBeLessThan(result.positions["run:sink"][0]);
    }
    const column = Object.entries(result.positions)
      .filter(([k]) => k.startsWith("artifact:a"))
      .map(([, [, y]]) => y)
      .sort((a, b) => a - b);
    for (let i = 1; i < column.length; i++) expect(column[i] - column[i - 1]).toBeGreaterThanOrEqual(38);
  });

  it("orders each rank by its neighbours' places", () => {
    // a → x, b → y, laid in the rank below as y, x: the sweep swaps them back.
    const ranks: Record<string, { rank: number; order?: number }> = { a: { rank: 0 }, b: { rank: 0 }, y: { rank: 1 }, x: { rank: 1 } };
    const preds: Record<string, string[]> = { x: ["a"], y: ["b"] };
    const succs: Record<string, string[]> = { a: ["x"], b: ["y"] };
    barycentreOrder({ nodes: () => ["a", "b", "y", "x"], node: (v) => ranks[v], predecessors: (v) => preds[v] ?? [], successors: (v) => succs[v] ?? [] });
    expect([ranks.a.order, ranks.b.order, ranks.x.order, ranks.y.order]).toEqual([0, 1, 0, 1]);
  });

  it("finds the node under a click at overview scale", () => {
    const positions: Record<string, [number, number]> = { a: [0, 0], b: [300, 0] };
    const size = () => ({ width: 100, height: 40 });
    expect(hitTest(positions, size, 30, 10)).toBe("a");
    expect(hitTest(positions, size, 320, -15)).toBe("b");
    expect(hitTest(positions, size, 150, 0)).toBeUndefined();
    expect(hitTest(positions, size, 150, 0, 110)).toBe("a");
  });
});
