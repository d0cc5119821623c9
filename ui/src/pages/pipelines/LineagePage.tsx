import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import { Link, useSearchParams } from "react-router-dom";
import {
  datasetStart,
  getLineage,
  startOf,
  walkFromModelVersion,
  type Direction,
  type LineageGraph,
  type WalkOptions,
} from "../../api/lineage";
import { getRun } from "../../api/tracking";
import { useApi } from "../../api/useApi";
import { ErrorBox, Loading } from "../../components/Status";
import {
  adjacency,
  fromWalk,
  mergeWalk,
  nodeHref,
  nodeLabel,
  nodeType,
  searchNodes,
  type ExplorerGraph,
} from "./lineageGraph";
import { LineageView, type LineageViewHandle } from "./LineageView";
import { useLineageLayout } from "./useLineageLayout";
import "./pipelines.css";

const clampInt = (text: string | null, lo: number, hi: number, fallback: number) => {
  const n = Number(text);
  return Number.isInteger(n) && n >= lo && n <= hi ? n : fallback;
};

/** The first walk a URL asks for; undefined when it names no start. */
function firstWalk(params: URLSearchParams, options: WalkOptions, signal: AbortSignal): Promise<LineageGraph> | undefined {
  const run = params.get("run");
  if (run) return getLineage({ run_id: run }, options, signal);
  const model = params.get("model");
  if (model) {
    const alias = params.get("alias") ?? undefined;
    return walkFromModelVersion(model, { version: params.get("version") ?? undefined, alias }, options, signal);
  }
  const artifact = params.get("artifact");
  if (artifact) return getLineage({ artifact }, options, signal);
  const dataset = params.get("dataset");
  if (dataset) return getLineage(datasetStart(dataset), options, signal);
  return undefined;
}

function StartForm() {
  const [, setParams] = useSearchParams();
  const [kind, setKind] = useState("run");
  const [value, setValue] = useState("");
  const [version, setVersion] = useState("");
  return (
    <form
      className="toolbar"
      aria-label="Where to start"
      onSubmit={(e) => {
        e.preventDefault();
        if (kind === "model") setParams({ model: value.trim(), version: version.trim() });
        else setParams({ [kind]: value.trim() });
      }}
    >
      <label>
        Start from
        <select aria-label="Start from" value={kind} onChange={(e) => setKind(e.target.value)}>
          <option value="run">a run id</option>
          <option value="model">a model version</option>
          <option value="dataset">a data set (digest or URI)</option>
          <option value="artifact">an artifact (sha256:… or URI)</option>
        </select>
      </label>
      <label>
        {kind === "model" ? "Model name" : "Value"}
        <input value={value} onChange={(e) => setValue(e.target.value)} required />
      </label>
      {kind === "model" && (
        <label>
          Version
          <input value={version} onChange={(e) => setVersion(e.target.value)} required inputMode="numeric" />
        </label>
      )}
      <button type="submit">Show lineage</button>
    </form>
  );
}

function NodeDetails({ graph, nodeKey, onExpand, expanding }: { graph: ExplorerGraph; nodeKey: string; onExpand: (k: string) => void; expanding: boolean }) {
  const node = graph.nodes.get(nodeKey);
  const links = useMemo(() => adjacency(graph).get(nodeKey), [graph, nodeKey]);
  const run = useApi(
    (signal) => (node?.kind === "run" ? getRun(node.id, signal) : Promise.resolve(undefined)),
    [node?.kind, node?.id],
  );
  if (!node) return null;
  const href = nodeHref(node);
  const tags = run.data?.data.tags ?? {};
  const pipelineRun = tags["clew.pipeline.run"] ?? (tags["clew.pipeline"] ? node.id : undefined);
  const type = nodeType(node);
  return (
    <aside className="lineage-panel" aria-labelledby="lineage-node-title">
      <h2 id="lineage-node-title">{nodeLabel(node)}</h2>
      <dl className="kv">
        <dt>Kind</dt>
        <dd>{type}</dd>
        {node.status && (
          <>
            <dt>Status</dt>
            <dd>
              <span className={`badge state-${node.status}`}>{node.status}</span>
            </dd>
          </>
        )}
        <dt>{node.kind === "run" ? "Run id" : "Node"}</dt>
        <dd className="mono">{node.id}</dd>
        {node.digest && (
          <>
            <dt>Digest</dt>
            <dd className="mono">sha256:{node.digest}</dd>
          </>
        )}
        {node.uri && (
          <>
            <dt>URI</dt>
            <dd className="mono">{node.uri}</dd>
          </>
        )}
        {tags["clew.pipeline.step"] && (
          <>
            <dt>Pipeline step</dt>
            <dd>{tags["clew.pipeline.step"]}</dd>
          </>
        )}
        <dt>Edges</dt>
        <dd>
          {links?.up.length ?? 0} upstream, {links?.down.length ?? 0} downstream
        </dd>
      </dl>
      <div className="toolbar">
        {href && (
          <Link className="button" to={href}>
            Open {node.kind === "run" ? "run" : type === "model" ? "model version" : "its run"}
          </Link>
        )}
        {pipelineRun && (
          <Link className="button secondary" to={`/pipelines/runs/${pipelineRun}`}>
            Open pipeline run
          </Link>
        )}
        {!graph.expanded.has(nodeKey) ? (
          <button type="button" className="secondary" disabled={expanding} onClick={() => onExpand(nodeKey)}>
            Expand neighbours
          </button>
        ) : (
          <span className="hint">neighbours shown</span>
        )}
        {node.kind === "run" && (
          <Link className="button secondary" to={`/lineage?run=${node.id}`}>
            Start here
          </Link>
        )}
      </div>
    </aside>
  );
}

export function LineagePage() {
  const [params, setParams] = useSearchParams();
  const direction = (["upstream", "downstream", "both"].includes(params.get("direction") ?? "") ? params.get("direction") : "both") as Direction;
  const depth = clampInt(params.get("depth"), 1, 50, 2);
  const maxNodes = clampInt(params.get("max_nodes"), 1, 10_000, 2000);
  const [graph, setGraph] = useState<ExplorerGraph>();
  const [error, setError] = useState<Error>();
  const [loading, setLoading] = useState(false);
  const [expanding, setExpanding] = useState(0);
  const [selected, setSelected] = useState<string>();
  const [query, setQuery] = useState("");
  const [note, setNote] = useState("");
  const view = useRef<LineageViewHandle>(null);
  const startKey = ["run", "model", "version", "alias", "artifact", "dataset"].map((k) => params.get(k) ?? "").join("|");
  const options = useMemo(() => ({ direction, depth, max_nodes: maxNodes }), [direction, depth, maxNodes]);

  useEffect(() => {
    const controller = new AbortController();
    const walk = firstWalk(params, options, controller.signal);
    setGraph(undefined);
    setSelected(undefined);
    setError(undefined);
    if (!walk) return;
    setLoading(true);
    walk
      .then((found) => {
        if (controller.signal.aborted) return;
        performance.mark("clew:lineage-walked");
        setGraph(fromWalk(found, { direction, depth }));
        setSelected(found.start);
      })
      .catch((reason: unknown) => !controller.signal.aborted && setError(reason as Error))
      .finally(() => !controller.signal.aborted && setLoading(false));
    return () => controller.abort();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [startKey, options]);

  const { placed, busy } = useLineageLayout(graph);
  const graphRef = useRef(graph);
  graphRef.current = graph;

  const expand = useCallback(
    async (key: string) => {
      const current = graphRef.current;
      const node = current?.nodes.get(key);
      if (!node) return;
      setExpanding((n) => n + 1);
      try {
        const walk = await getLineage(startOf(node), { direction, depth: 1, max_nodes: maxNodes });
        setGraph((g) => {
          if (!g) return g;
          const merged = mergeWalk(g, walk, key, { direction, depth: 1 });
          setNote(merged.added.length ? `${merged.added.length} nodes added from ${nodeLabel(node)}` : `${nodeLabel(node)} has no more neighbours`);
          return merged;
        });
      } catch (reason) {
        setError(reason as Error);
      } finally {
        setExpanding((n) => n - 1);
      }
    },
    [direction, maxNodes],
  );

  const expandAll = () => {
    if (!graph) return;
    const frontier = [...graph.nodes.keys()].filter((k) => !graph.expanded.has(k)).slice(0, 50);
    frontier.forEach((k) => void expand(k));
  };

  const links = useMemo(() => (graph ? adjacency(graph) : undefined), [graph]);
  const onKey = useCallback(
    (key: string, event: React.KeyboardEvent) => {
      const near = links?.get(key);
      const pos = placed?.positions;
      let next: string | undefined;
      if (event.key === "Enter" || event.key === " ") {
        event.preventDefault();
        setSelected(key);
        return;
      }
      if (event.key === "e" || event.key === "E" || event.key === "+") {
        event.preventDefault();
        void expand(key);
        return;
      }
      if (event.key === "ArrowLeft") next = near?.up[0];
      else if (event.key === "ArrowRight") next = near?.down[0];
      else if ((event.key === "ArrowUp" || event.key === "ArrowDown") && pos?.[key]) {
        const [x, y] = pos[key];
        const below = event.key === "ArrowDown";
        let best = Infinity;
        for (const [k, [ox, oy]] of Object.entries(pos)) {
          if (Math.abs(ox - x) > 20 || (below ? oy <= y : oy >= y)) continue;
          const d = Math.abs(oy - y);
          if (d < best) [best, next] = [d, k];
        }
      }
      if (!next) return;
      event.preventDefault();
      event.stopPropagation();
      setSelected(next);
      view.current?.focusNode(next);
      const target = next;
      requestAnimationFrame(() => (document.querySelector(`[data-node="${CSS.escape(target)}"]`) as SVGElement | null)?.focus());
    },
    [links, placed, expand],
  );

  const results = useMemo(() => (graph && query ? searchNodes(graph, query, 12) : []), [graph, query]);
  const hasStart = startKey.replace(/\|/g, "") !== "";
  const setParam = (key: string, value: string) => {
    const next = new URLSearchParams(params);
    next.set(key, value);
    setParams(next);
  };

  return (
    <section className="lineage-page">
      <h1>Lineage</h1>
      {!hasStart && (
        <>
          <p>What a run, a model version, a data set or an artifact came from, and what came of it.</p>
          <StartForm />
        </>
      )}
      {hasStart && (
        <div className="toolbar lineage-toolbar">
          <label className="inline">
            Direction{" "}
            <select aria-label="Direction" value={direction} onChange={(e) => setParam("direction", e.target.value)}>
              <option value="both">both</option>
              <option value="upstream">upstream</option>
              <option value="downstream">downstream</option>
            </select>
          </label>
          <label className="inline">
            Depth{" "}
            <input type="number" min={1} max={50} value={depth} onChange={(e) => setParam("depth", e.target.value)} className="narrow" />
          </label>
          <div className="lineage-search">
            <label className="inline">
              Find{" "}
              <input type="search" value={query} onChange={(e) => setQuery(e.target.value)} placeholder="a node's name, id or digest" aria-controls="lineage-results" />
            </label>
            {results.length > 0 && (
              <ul id="lineage-results" className="search-results" aria-label="Matching nodes">
                {results.map((key) => {
                  const node = graph!.nodes.get(key)!;
                  return (
                    <li key={key}>
                      <button
                        type="button"
                        className="linklike"
                        onClick={() => {
                          setSelected(key);
                          setQuery("");
                          view.current?.focusNode(key);
                        }}
                      >
                        <span className="hint">{nodeType(node)}</span> {nodeLabel(node)}
                      </button>
                    </li>
                  );
                })}
              </ul>
            )}
          </div>
          <button type="button" className="secondary" onClick={expandAll} disabled={!graph || expanding > 0}>
            Expand all
          </button>
          <span className="hint" role="status" aria-live="polite">
            {loading ? "Walking the graph…" : busy ? "Laying out…" : expanding ? "Expanding…" : note}
            {graph?.truncated ? " · the walk stopped at its node limit" : ""}
          </span>
        </div>
      )}
      <ErrorBox error={error} />
      {hasStart && loading && !graph && <Loading label="Walking the graph" />}
      {graph && placed && (
        <div className={`lineage-layout${selected ? " with-panel" : ""}`}>
          <LineageView placed={placed} graph={graph} selected={selected} onSelect={setSelected} onExpand={(k) => void expand(k)} onKey={onKey} handle={view} />
          {selected && <NodeDetails graph={graph} nodeKey={selected} onExpand={(k) => void expand(k)} expanding={expanding > 0} />}
        </div>
      )}
    </section>
  );
}
