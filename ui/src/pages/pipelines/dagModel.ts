/**
 * A pipeline run as the input of a graph layout: one node per step run (a loop's iterations
 * grouped in a box, a nested pipeline's steps in another), edges for the data passed between
 * steps, for `after` orderings and for what a condition reads. Pure, so the shape of the DAG is
 * tested without a browser; dagLayout.ts turns it into coordinates.
 *
 * The definition is the run's `pipeline.json` (the graph as written, nested pipelines and
 * all); the states are its step runs' tags, so the same function draws a run that is still
 * going (steps not started yet are PENDING) and one that ended (those are SKIPPED).
 */
import type { Condition, PipelineJson, Source, TaskJson } from "../../api/pipelines";
import type { Run } from "../../api/tracking";
import {
  CACHED_FROM_TAG,
  OUTPUT_TAG,
  REASON_TAG,
  STATE_TAG,
  STEP_TAG,
} from "../../api/pipelines";

export const STEP_STATES = [
  "SUCCEEDED",
  "FAILED",
  "RUNNING",
  "SKIPPED",
  "CACHED",
  "PENDING",
  "CANCELED",
] as const;

/** One step run as the page shows it. */
export interface StepRunView {
  key: string;
  task: string;
  index: number[];
  state: string;
  runId?: string;
  start?: number | null;
  end?: number | null;
  cachedFrom?: string;
  reason?: string;
  params: Record<string, string>;
  outputs: Record<string, string>;
}

export interface DagNode {
  id: string;
  label: string;
  task: string;
  state: string;
  cached: boolean;
  /** The loop or nested-pipeline box it sits in. */
  group?: string;
  /** A readable form of the condition the step runs under. */
  condition?: string;
  isFinally: boolean;
  /** For the "+N more" node standing for iterations not drawn. */
  hidden?: number;
  run?: StepRunView;
  width: number;
  height: number;
}

export type DagEdgeKind = "data" | "after" | "condition" | "loop";

export interface DagEdge {
  from: string;
  to: string;
  kind: DagEdgeKind;
  label?: string;
}

export interface DagGroup {
  id: string;
  label: string;
  kind: "loop" | "pipeline";
  parent?: string;
}

export interface DagInput {
  nodes: DagNode[];
  edges: DagEdge[];
  groups: DagGroup[];
}

/** `train[2,0]` → [2, 0]; a step outside loops has no index. */
export function parseIndex(key: string): number[] {
  const match = /\[([0-9,\s]*)\]$/.exec(key);
  if (!match || !match[1].trim()) return [];
  return match[1].split(",").map((part) => Number(part.trim()));
}

/** A tracked step run's state: its state tag, else what its run status says. */
export function stepState(run: Run): string {
  const tagged = run.data.tags[STATE_TAG];
  if (tagged) return tagged;
  switch (run.info.status) {
    case "RUNNING":
    case "SCHEDULED":
      return "RUNNING";
    case "FAILED":
      return "FAILED";
    case "KILLED":
      return "CANCELED";
    default:
      return "SUCCEEDED";
  }
}

export function stepRunView(run: Run): StepRunView {
  const tags = run.data.tags;
  const outputs: Record<string, string> = {};
  for (const [key, value] of Object.entries(tags)) {
    if (key.startsWith(OUTPUT_TAG)) outputs[key.slice(OUTPUT_TAG.length)] = value;
  }
  return {
    key: run.info.run_name,
    task: tags[STEP_TAG] ?? run.info.run_name.replace(/\[.*$/, ""),
    index: parseIndex(run.info.run_name),
    state: stepState(run),
    runId: run.info.run_id,
    start: run.info.start_time,
    end: run.info.end_time,
    cachedFrom: tags[CACHED_FROM_TAG],
    reason: tags[REASON_TAG],
    params: run.data.params,
    outputs,
  };
}

// ---- conditions as text ------------------------------------------------------------------------

export function sourceText(source: Source): string {
  if ("constant" in source) return JSON.stringify(source.constant) ?? "null";
  if ("param" in source) return `params.${source.param}`;
  if ("task" in source) return source.output === "output" ? source.task : `${source.task}.${source.output}`;
  if ("loop_item" in source) return "item";
  if ("collect" in source) return `collect(${source.collect.task}.${source.collect.output})`;
  return "pipeline_status()";
}

export function conditionText(condition: Condition): string {
  if ("op" in condition) {
    return `${sourceText(condition.left)} ${condition.op} ${sourceText(condition.right)}`;
  }
  if ("not" in condition) return `not (${conditionText(condition.not)})`;
  const [terms, joiner] = "all" in condition ? [condition.all, " and "] : [condition.any, " or "];
  return terms.map((t) => (terms.length > 1 && ("all" in t || "any" in t) ? `(${conditionText(t)})` : conditionText(t))).join(joiner);
}

function conditionSources(condition: Condition): Source[] {
  if ("op" in condition) return [condition.left, condition.right];
  if ("not" in condition) return conditionSources(condition.not);
  return ("all" in condition ? condition.all : condition.any).flatMap(conditionSources);
}

// ---- nested pipelines inlined (as the engine does: steps named outer.inner) ---------------------

interface FlatTask {
  task: TaskJson;
  /** The nested-pipeline box it belongs to, if any. */
  group?: string;
}

function renameSource(source: Source, prefix: string, params: Record<string, Source>): Source {
  if ("param" in source) return params[source.param] ?? source;
  if ("task" in source) return { task: prefix + source.task, output: source.output };
  if ("collect" in source) return { collect: { task: prefix + source.collect.task, output: source.collect.output } };
  if ("loop_item" in source) return { loop_item: prefix + source.loop_item };
  return source;
}

function renameCondition(c: Condition, fn: (s: Source) => Source): Condition {
  if ("op" in c) return { op: c.op, left: fn(c.left), right: fn(c.right) };
  if ("not" in c) return { not: renameCondition(c.not, fn) };
  if ("all" in c) return { all: c.all.map((t) => renameCondition(t, fn)) };
  return { any: c.any.map((t) => renameCondition(t, fn)) };
}

function mapTask(task: TaskJson, fn: (s: Source) => Source, name: string, after: string[]): TaskJson {
  return {
    ...task,
    name,
    inputs: Object.fromEntries(Object.entries(task.inputs).map(([k, v]) => [k, fn(v)])),
    when: task.when && renameCondition(task.when, fn),
    loops: task.loops?.map((l) => ({ ...l, items: fn(l.items) })),
    after,
  };
}

/** The definition's tasks with nested pipelines inlined, and the boxes those make. */
export function flattenTasks(spec: PipelineJson): { tasks: FlatTask[]; groups: DagGroup[] } {
  const groups: DagGroup[] = [];
  const outputsOf: Record<string, Record<string, Source>> = {};
  const members: Record<string, string[]> = {};

  const read = (s: Source): Source => {
    if ("task" in s && outputsOf[s.task]) return outputsOf[s.task][s.output] ?? s;
    if ("collect" in s && outputsOf[s.collect.task]) {
      const inner = outputsOf[s.collect.task][s.collect.output];
      if (inner && "task" in inner) return { collect: { task: inner.task, output: inner.output } };
    }
    return s;
  };

  const tasks: FlatTask[] = [];
  for (const raw of spec.tasks) {
    const after = (raw.after ?? []).flatMap((a) => members[a] ?? [a]);
    const task = mapTask(raw, read, raw.name, after);
    if (!task.pipeline) {
      tasks.push({ task });
      continue;
    }
    const nested = flattenTasks(task.pipeline);
    const prefix = `${task.name}.`;
    const params: Record<string, Source> = {};
    for (const p of task.pipeline.params) {
      params[p.name] = task.inputs[p.name] ?? { constant: p.default ?? null };
    }
    const groupId = `pipeline:${task.name}`;
    groups.push({ id: groupId, label: task.name, kind: "pipeline" });
    for (const g of nested.groups) {
      groups.push({ ...g, id: g.id.replace(/^(\w+):/, `$1:${prefix}`), parent: g.parent ? g.parent.replace(/^(\w+):/, `$1:${prefix}`) : groupId });
    }
    const fn = (s: Source) => renameSource(s, prefix, params);
    members[task.name] = [];
    for (const sub of nested.tasks) {
      const inner = mapTask(sub.task, fn, prefix + sub.task.name, [
        ...(task.after ?? []),
        ...(sub.task.after ?? []).map((a) => prefix + a),
      ]);
      inner.loops = [...(task.loops ?? []), ...(inner.loops ?? [])];
      if (task.when) inner.when = inner.when ? { all: [task.when, inner.when] } : task.when;
      members[task.name].push(inner.name);
      tasks.push({
        task: inner,
        group: sub.group ? sub.group.replace(/^(\w+):/, `$1:${prefix}`) : groupId,
      });
    }
    outputsOf[task.name] = Object.fromEntries(
      Object.entries(task.pipeline.outputs).map(([k, v]) => [k, fn(v)]),
    );
  }
  return { tasks, groups };
}

// ---- the layout input --------------------------------------------------------------------------

export interface DagOptions {
  /** Iterations of one loop drawn before the rest fold into a "+N more" node. */
  maxIterations?: number;
  /** Whether the run has ended: a step that never ran was SKIPPED, not PENDING. */
  ended?: boolean;
}

export const NODE_HEIGHT = 48;

export function nodeWidth(label: string): number {
  return Math.round(Math.min(240, Math.max(150, label.length * 7.4 + 60)));
}

function sourceTasks(source: Source): { task: string; collected: boolean } | undefined {
  if ("task" in source) return { task: source.task, collected: false };
  if ("collect" in source) return { task: source.collect.task, collected: true };
  return undefined;
}

function isPrefix(short: number[], long: number[]): boolean {
  return short.every((v, i) => long[i] === v);
}

export function buildDag(
  spec: PipelineJson,
  runs: StepRunView[],
  options: DagOptions = {},
): DagInput {
  const maxIterations = options.maxIterations ?? 24;
  const { tasks, groups } = flattenTasks(spec);
  const byTask = new Map<string, StepRunView[]>();
  for (const run of runs) {
    const list = byTask.get(run.task) ?? [];
    list.push(run);
    byTask.set(run.task, list);
  }
  const nodes: DagNode[] = [];
  /** Each task's drawn nodes, with the index of the step run they stand for. */
  const drawn = new Map<string, { id: string; index: number[] | null }[]>();
  const looped = new Set<string>();
  const loopOwner = new Map<string, string>(); // loop id → the task that declared it

  for (const { task, group } of tasks) {
    const condition = task.when ? conditionText(task.when) : undefined;
    const base = { task: task.name, condition, isFinally: task.finally === true };
    const list = (byTask.get(task.name) ?? []).slice().sort((a, b) => {
      for (let i = 0; i < Math.max(a.index.length, b.index.length); i++) {
        const d = (a.index[i] ?? -1) - (b.index[i] ?? -1);
        if (d) return d;
      }
      return 0;
    });
    const pending = options.ended ? "SKIPPED" : "PENDING";
    if (!task.loops?.length) {
      const run = list[0];
      const state = run?.state ?? pending;
      nodes.push({ id: task.name, label: task.name, ...base, state, cached: state === "CACHED", group, run, width: nodeWidth(task.name), height: NODE_HEIGHT });
      drawn.set(task.name, [{ id: task.name, index: [] }]);
      continue;
    }
    looped.add(task.name);
    for (const loop of task.loops) if (!loopOwner.has(loop.id)) loopOwner.set(loop.id, task.name);
    const groupId = `loop:${task.name}`;
    const counts = new Map<string, number>();
    for (const r of list) counts.set(r.state, (counts.get(r.state) ?? 0) + 1);
    const summary = [...counts].map(([s, n]) => `${n} ${s.toLowerCase()}`).join(", ");
    groups.push({
      id: groupId,
      label: `${task.name} × ${list.length || "…"}${summary ? ` (${summary})` : ""}`,
      kind: "loop",
      parent: group,
    });
    const mine: { id: string; index: number[] | null }[] = [];
    if (list.length === 0) {
      const id = `${task.name}[…]`;
      nodes.push({ id, label: id, ...base, state: pending, cached: false, group: groupId, width: nodeWidth(id), height: NODE_HEIGHT });
      mine.push({ id, index: null });
    }
    for (const run of list.slice(0, maxIterations)) {
      nodes.push({ id: run.key, label: run.key, ...base, state: run.state, cached: run.state === "CACHED", group: groupId, run, width: nodeWidth(run.key), height: NODE_HEIGHT });
      mine.push({ id: run.key, index: run.index });
    }
    if (list.length > maxIterations) {
      const hidden = list.length - maxIterations;
      const id = `${task.name}[+${hidden}]`;
      const rest = list.slice(maxIterations);
      const state = rest.some((r) => r.state === "FAILED") ? "FAILED" : rest.some((r) => r.state === "RUNNING") ? "RUNNING" : rest[0].state;
      nodes.push({ id, label: `+${hidden} more`, ...base, state, cached: rest.every((r) => r.state === "CACHED"), group: groupId, hidden, width: 132, height: NODE_HEIGHT });
      mine.push({ id, index: null });
    }
    drawn.set(task.name, mine);
  }

  const edges: DagEdge[] = [];
  const seen = new Set<string>();
  const connect = (producer: string, consumer: string, kind: DagEdgeKind, collected: boolean, label?: string) => {
    const from = drawn.get(producer);
    const to = drawn.get(consumer);
    if (!from || !to) return;
    const matchIterations = !collected && looped.has(producer) && looped.has(consumer);
    for (const p of from) {
      for (const c of to) {
        if (matchIterations && p.index && c.index && !isPrefix(p.index, c.index)) continue;
        const key = `${p.id}\u0000${c.id}\u0000${kind}`;
        if (seen.has(key) || p.id === c.id) continue;
        seen.add(key);
        edges.push({ from: p.id, to: c.id, kind, label });
      }
    }
  };

  for (const { task } of tasks) {
    for (const [input, source] of Object.entries(task.inputs)) {
      const from = sourceTasks(source);
      if (from) connect(from.task, task.name, "data", from.collected, input);
      if ("loop_item" in source) {
        const owner = tasks.find((t) => t.task.name === loopOwner.get(source.loop_item))?.task;
        const items = owner?.loops?.find((l) => l.id === source.loop_item)?.items;
        const fromItems = items && sourceTasks(items);
        if (fromItems && fromItems.task !== task.name) connect(fromItems.task, task.name, "loop", true, input);
      }
    }
    for (const loop of task.loops ?? []) {
      const from = sourceTasks(loop.items);
      if (from) connect(from.task, task.name, "loop", true, "items");
    }
    for (const other of task.after ?? []) connect(other, task.name, "after", true);
    if (task.when) {
      for (const source of conditionSources(task.when)) {
        const from = sourceTasks(source);
        if (from) connect(from.task, task.name, "condition", from.collected);
      }
    }
  }
  // Steps that appear in the runs but not in the definition (should not happen; shown anyway).
  const known = new Set(nodes.map((n) => n.task));
  for (const run of runs) {
    if (!known.has(run.task)) {
      nodes.push({ id: run.key, label: run.key, task: run.task, state: run.state, cached: run.state === "CACHED", isFinally: false, run, width: nodeWidth(run.key), height: NODE_HEIGHT });
    }
  }
  return { nodes, edges, groups };
}
