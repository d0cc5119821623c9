import { describe, expect, it } from "vitest";
import type { PipelineJson, TaskJson } from "../src/api/pipelines";
import type { Run } from "../src/api/tracking";
import {
  buildDag,
  conditionText,
  flattenTasks,
  parseIndex,
  stepRunView,
  type StepRunView,
} from "../src/pages/pipelines/dagModel";
import { layoutDag } from "../src/pages/pipelines/dagLayout";
import { defaultText, fieldKind, parseParams } from "../src/pages/pipelines/paramFields";
import { parseEvery } from "../src/pages/pipelines/SchedulesSection";

const task = (name: string, extra: Partial<TaskJson> = {}): TaskJson => ({
  name,
  inputs: {},
  outputs: ["output"],
  step: `acme:${name}`,
  ...extra,
});

const out = (t: string, output = "output") => ({ task: t, output });

/** load → split → train × 3 (over a param) → best (collects) → if best > 0.9: register. */
const SPEC: PipelineJson = {
  name: "p",
  params: [{ name: "lrs", type: "list[float]", default: [0.1, 0.01, 0.001] }],
  outputs: {},
  tasks: [
    task("load"),
    task("split", { inputs: { frame: out("load") }, outputs: ["train", "test"] }),
    task("train", {
      inputs: { data: out("split", "train"), lr: { loop_item: "for-1" } },
      loops: [{ id: "for-1", items: { param: "lrs" }, parallelism: 2 }],
    }),
    task("best", { inputs: { scores: { collect: out("train") } } }),
    task("register", {
      inputs: { score: out("best") },
      when: { op: ">", left: out("best"), right: { constant: 0.9 } },
    }),
    task("notify", { inputs: {}, finally: true, after: ["register"] }),
  ],
};

const view = (key: string, state: string, extra: Partial<StepRunView> = {}): StepRunView => ({
  key,
  task: key.replace(/\[.*$/, ""),
  index: parseIndex(key),
  state,
  params: {},
  outputs: {},
  ...extra,
});

const RUNS = [
  view("load", "CACHED"),
  view("split", "CACHED"),
  view("train[0]", "SUCCEEDED"),
  view("train[2]", "RUNNING"),
  view("train[1]", "FAILED"),
];

describe("parseIndex", () => {
  it("reads a loop index", () => {
    expect(parseIndex("train[2]")).toEqual([2]);
    expect(parseIndex("outer.fit[1,3]")).toEqual([1, 3]);
    expect(parseIndex("load")).toEqual([]);
  });
});

describe("stepRunView", () => {
  const run = (status: string, tags: Record<string, string>): Run => ({
    info: { run_id: "a".repeat(32), experiment_id: "1", run_name: "fit[3]", user_id: "u", status, start_time: 1, end_time: 5, artifact_uri: "", lifecycle_stage: "active", parent_run_id: null },
    data: { params: { lr: "0.1" }, metrics: [], tags },
    inputs: [],
  });
  it("takes the state tag first, then the run status", () => {
    expect(stepRunView(run("FINISHED", { "clew.pipeline.state": "CACHED", "clew.pipeline.step": "fit" })).state).toBe("CACHED");
    expect(stepRunView(run("RUNNING", {})).state).toBe("RUNNING");
    expect(stepRunView(run("KILLED", {})).state).toBe("CANCELED");
  });
  it("reads the task, index, outputs and where a cached step came from", () => {
    const v = stepRunView(run("FINISHED", { "clew.pipeline.step": "fit", "clew.output.model": "pickle:ab", "clew.pipeline.cached_from": "b".repeat(32) }));
    expect(v).toMatchObject({ key: "fit[3]", task: "fit", index: [3], outputs: { model: "pickle:ab" }, cachedFrom: "b".repeat(32) });
  });
});

describe("buildDag", () => {
  const dag = buildDag(SPEC, RUNS);
  const ids = dag.nodes.map((n) => n.id);

  it("draws one node per step run and groups a loop's iterations in order", () => {
    expect(ids).toEqual(["load", "split", "train[0]", "train[1]", "train[2]", "best", "register", "notify"]);
    const loop = dag.groups.find((g) => g.kind === "loop");
    expect(loop).toMatchObject({ id: "loop:train" });
    expect(loop!.label).toContain("train × 3");
    expect(dag.nodes.filter((n) => n.group === "loop:train").map((n) => n.id)).toEqual(["train[0]", "train[1]", "train[2]"]);
  });

  it("colours by state, marks cached steps, and leaves steps not started PENDING", () => {
    const state = Object.fromEntries(dag.nodes.map((n) => [n.id, n.state]));
    expect(state).toMatchObject({ load: "CACHED", "train[1]": "FAILED", "train[2]": "RUNNING", best: "PENDING" });
    expect(dag.nodes.filter((n) => n.cached).map((n) => n.id)).toEqual(["load", "split"]);
  });

  it("says SKIPPED, not PENDING, once the run has ended", () => {
    const ended = buildDag(SPEC, RUNS, { ended: true });
    expect(ended.nodes.find((n) => n.id === "best")?.state).toBe("SKIPPED");
  });

  it("fans out into every iteration and back in through collect", () => {
    const edges = dag.edges.map((e) => `${e.from}->${e.to}:${e.kind}`);
    expect(edges).toContain("load->split:data");
    for (const i of [0, 1, 2]) {
      expect(edges).toContain(`split->train[${i}]:data`);
      expect(edges).toContain(`train[${i}]->best:data`);
    }
  });

  it("keeps conditions and orderings", () => {
    const register = dag.nodes.find((n) => n.id === "register")!;
    expect(register.condition).toBe("best > 0.9");
    expect(dag.edges).toContainEqual({ from: "best", to: "register", kind: "condition", label: undefined });
    expect(dag.edges).toContainEqual({ from: "register", to: "notify", kind: "after", label: undefined });
    expect(dag.nodes.find((n) => n.id === "notify")!.isFinally).toBe(true);
  });

  it("folds iterations past the limit into one node", () => {
    const many = Array.from({ length: 30 }, (_, i) => view(`train[${i}]`, i === 29 ? "FAILED" : "CACHED"));
    const folded = buildDag(SPEC, many, { maxIterations: 5 });
    const inLoop = folded.nodes.filter((n) => n.group === "loop:train");
    expect(inLoop).toHaveLength(6);
    expect(inLoop[5]).toMatchObject({ label: "+25 more", hidden: 25, state: "FAILED" });
  });

  it("draws a loop not started yet as one pending placeholder", () => {
    const none = buildDag(SPEC, []);
    expect(none.nodes.filter((n) => n.group === "loop:train").map((n) => n.id)).toEqual(["train[…]"]);
  });

  it("matches iterations one to one when a loop step reads another in the same loop", () => {
    const spec: PipelineJson = {
      ...SPEC,
      tasks: [
        task("a", { loops: [{ id: "l", items: { constant: [1, 2] }, parallelism: 0 }], inputs: { x: { loop_item: "l" } } }),
        task("b", { loops: [{ id: "l", items: { constant: [1, 2] }, parallelism: 0 }], inputs: { y: out("a") } }),
      ],
    };
    const dag2 = buildDag(spec, [view("a[0]", "SUCCEEDED"), view("a[1]", "SUCCEEDED"), view("b[0]", "SUCCEEDED"), view("b[1]", "SUCCEEDED")]);
    expect(dag2.edges.map((e) => `${e.from}->${e.to}`)).toEqual(["a[0]->b[0]", "a[1]->b[1]"]);
  });
});

describe("nested pipelines", () => {
  const inner: PipelineJson = {
    name: "prep",
    params: [{ name: "rows", type: "int", default: 10 }],
    outputs: { clean: out("clean") },
    tasks: [task("fetch", { inputs: { rows: { param: "rows" } } }), task("clean", { inputs: { raw: out("fetch") } })],
  };
  const outer: PipelineJson = {
    name: "outer",
    params: [],
    outputs: {},
    tasks: [task("seed"), { name: "prep", inputs: { rows: out("seed") }, outputs: ["clean"], pipeline: inner }, task("fit", { inputs: { data: out("prep", "clean") } })],
  };

  it("inlines them as the engine does, in a box of their own", () => {
    const { tasks, groups } = flattenTasks(outer);
    expect(tasks.map((t) => t.task.name)).toEqual(["seed", "prep.fetch", "prep.clean", "fit"]);
    expect(groups).toEqual([{ id: "pipeline:prep", label: "prep", kind: "pipeline" }]);
    const dag = buildDag(outer, []);
    const edges = dag.edges.map((e) => `${e.from}->${e.to}`);
    expect(edges).toEqual(["seed->prep.fetch", "prep.fetch->prep.clean", "prep.clean->fit"]);
    expect(dag.nodes.find((n) => n.id === "prep.fetch")?.group).toBe("pipeline:prep");
  });
});

describe("conditionText", () => {
  it("reads like the DSL", () => {
    expect(
      conditionText({ all: [{ op: "==", left: { param: "mode" }, right: { constant: "full" } }, { not: { op: "<", left: out("eval", "auc"), right: { constant: 0.5 } } }] }),
    ).toBe('params.mode == "full" and not (eval.auc < 0.5)');
  });
});

describe("layoutDag", () => {
  it("places every node and box, left to right, and routes every edge", () => {
    const layout = layoutDag(buildDag(SPEC, RUNS));
    const x = Object.fromEntries(layout.nodes.map((n) => [n.id, n.x]));
    expect(x.load).toBeLessThan(x.split);
    expect(x.split).toBeLessThan(x["train[0]"]);
    expect(x["train[0]"]).toBeLessThan(x.best);
    expect(layout.edges.every((e) => e.points.length >= 2)).toBe(true);
    const box = layout.groups.find((g) => g.id === "loop:train")!;
    for (const n of layout.nodes.filter((n) => n.group === "loop:train")) {
      expect(Math.abs(n.y - box.y)).toBeLessThanOrEqual(box.height / 2);
    }
  });
});

describe("job parameters", () => {
  const params = [
    { name: "rows", type: "int", default: 100 },
    { name: "lr", type: "float", default: 0.1 },
    { name: "grid", type: "list[dict[str, Any]]", default: [{ a: 1 }] },
    { name: "name", type: "str" },
  ];
  it("picks a control per type and shows defaults", () => {
    expect(params.map(fieldKind)).toEqual(["integer", "number", "json", "text"]);
    expect(defaultText(params[2])).toContain('"a": 1');
  });
  it("reads values back, naming each problem", () => {
    expect(parseParams(params, { rows: "5", name: "x" })).toEqual({ ok: true, values: { rows: 5, lr: 0.1, grid: [{ a: 1 }], name: "x" } });
    expect(parseParams(params, { rows: "1.5", grid: "[", name: "x" })).toEqual({ ok: false, errors: ["rows must be a whole number", "grid must be JSON"] });
  });
  it("reads schedule intervals", () => {
    expect([parseEvery("15m"), parseEvery("2h"), parseEvery("90"), parseEvery("1 d"), parseEvery("soon")]).toEqual([900, 7200, 90, 86400, undefined]);
  });
});
