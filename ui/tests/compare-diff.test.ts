import { describe, expect, it } from "vitest";
import { diffRows, visibleRows } from "../src/pages/compare/diff";
import { formatState, readState, sharedKeys, writeState } from "../src/pages/compare/viewState";

describe("diffRows", () => {
  const rows = diffRows("Params", [
    { lr: "0.1", depth: "3", seed: "7" },
    { lr: "0.2", depth: "3" },
  ]);

  it("has a row per key, sorted, with a cell per run", () => {
    expect(rows.map((r) => r.key)).toEqual(["depth", "lr", "seed"]);
    expect(rows[2].values).toEqual(["7", undefined]);
  });

  it("marks rows whose values differ, an absent value included", () => {
    expect(rows.map((r) => r.differs)).toEqual([false, true, true]);
    expect(visibleRows(rows, true).map((r) => r.key)).toEqual(["lr", "seed"]);
    expect(visibleRows(rows, false)).toHaveLength(3);
  });

  it("compares metrics as numbers and formats them", () => {
    const metrics = diffRows("Metrics", [{ loss: 0.1 }, { loss: 0.1 }, { loss: 0.10000001 }], (v) => `~${v}`);
    expect(metrics[0].differs).toBe(true);
    expect(metrics[0].values[0]).toBe("~0.1");
    expect(diffRows("M", [{ a: 1 }, { a: 1 }])[0].differs).toBe(false);
  });

  it("keeps keys that look like object properties", () => {
    const odd = diffRows("Tags", [{ constructor: "x" }, {}]);
    expect(odd[0]).toMatchObject({ key: "constructor", values: ["x", undefined], differs: true });
  });
});

describe("view state in the URL", () => {
  const a = "a".repeat(32);
  const b = "b".repeat(32);

  it("reads the run table's link form", () => {
    const s = readState(new URLSearchParams(`runs=${a},${b}`));
    expect(s).toEqual({ runs: [a, b], metrics: null, x: "step", smoothing: 0, log: false, pcMetric: null, onlyDifferences: true });
  });

  it("round-trips every setting, metric keys with commas included", () => {
    const s = { runs: [a, b], metrics: ["loss,train", "acc"], x: "wall" as const, smoothing: 0.6, log: true, pcMetric: "acc", onlyDifferences: false };
    expect(readState(writeState(s))).toEqual(s);
    expect(readState(writeState({ ...s, metrics: [] })).metrics).toEqual([]);
  });

  it("drops what is not a run id and clamps the rest", () => {
    const s = readState(new URLSearchParams(`runs=${a},../x,${a},ZZ&x=bogus&smooth=7`));
    expect(s.runs).toEqual([a]);
    expect(s.x).toBe("step");
    expect(s.smoothing).toBe(0.99);
  });

  it("defaults to the keys every run shares", () => {
    expect(sharedKeys([["loss", "acc", "lr"], ["acc", "loss"], ["loss", "acc", "f1"]])).toEqual(["acc", "loss"]);
    expect(sharedKeys([])).toEqual([]);
  });
});

describe("formatState", () => {
  it("keeps the runs list comma-separated and metric keys intact", () => {
    const a = "a".repeat(32);
    const b = "b".repeat(32);
    const text = formatState({ runs: [a, b], metrics: ["x,y", "a&b"], x: "step", smoothing: 0, log: false, pcMetric: null, onlyDifferences: true });
    expect(text).toBe(`runs=${a},${b}&metric=x,y&metric=a%26b`);
    expect(readState(new URLSearchParams(text)).metrics).toEqual(["x,y", "a&b"]);
  });
});
