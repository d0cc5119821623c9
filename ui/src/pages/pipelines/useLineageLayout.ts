import { useEffect, useRef, useState } from "react";
import { layoutLineage, layoutOffThread, type LayoutRequest, type LayoutResult } from "./lineageLayout";
import { nodeLabel, type ExplorerGraph } from "./lineageGraph";

export const LINEAGE_NODE_HEIGHT = 38;

export function lineageNodeWidth(label: string): number {
  return Math.round(Math.min(230, Math.max(112, label.length * 7 + 44)));
}

export function layoutRequest(graph: ExplorerGraph, id: number): LayoutRequest {
  return {
    id,
    keep: graph.start,
    nodes: [...graph.nodes].map(([key, node]) => ({
      key,
      width: lineageNodeWidth(nodeLabel(node)),
      height: LINEAGE_NODE_HEIGHT,
    })),
    edges: [...graph.edges.values()].map((e) => ({ key: e.key, from: e.from, to: e.to })),
  };
}

export interface PlacedLineage extends LayoutResult {
  where: "page" | "worker";
  /** The graph this layout is of. */
  graph: ExplorerGraph;
}

/**
 * The graph's layout: on the page for small graphs, in a Web Worker when dagre would hold the
 * page for more than 100 ms (judged by the size, then by how long the last layout took). A newer
 * graph supersedes a layout still running.
 */
export function useLineageLayout(graph: ExplorerGraph | undefined) {
  const [placed, setPlaced] = useState<PlacedLineage>();
  const [busy, setBusy] = useState(false);
  const worker = useRef<Worker | null>(null);
  const seq = useRef(0);
  const measured = useRef<{ elements: number; ms: number }>(undefined);

  useEffect(() => () => worker.current?.terminate(), []);

  // Started before the first walk returns, so loading the worker overlaps the request.
  const startWorker = () => {
    if (!worker.current && typeof Worker !== "undefined") {
      worker.current = new Worker(new URL("./lineage.worker.ts", import.meta.url), { type: "module" });
    }
    return worker.current;
  };
  useEffect(() => {
    if (!graph) startWorker();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, []);

  useEffect(() => {
    if (!graph || graph.nodes.size === 0) return;
    const id = ++seq.current;
    const request = layoutRequest(graph, id);
    const elements = request.nodes.length + request.edges.length;
    const done = (result: LayoutResult, where: "page" | "worker") => {
      measured.current = { elements, ms: result.ms };
      if (result.id !== seq.current) return;
      performance.mark("clew:lineage-layout-done");
      setPlaced({ ...result, where, graph });
      setBusy(false);
    };
    setBusy(true);
    const w = layoutOffThread(elements, measured.current) ? startWorker() : null;
    if (w) {
      const onMessage = (event: MessageEvent<LayoutResult>) => {
        if (event.data.id !== id) return;
        w.removeEventListener("message", onMessage);
        done(event.data, "worker");
      };
      w.addEventListener("message", onMessage);
      w.postMessage(request);
      return () => w.removeEventListener("message", onMessage);
    }
    done(layoutLineage(request), "page");
    return undefined;
  }, [graph]);

  return { placed, busy };
}
