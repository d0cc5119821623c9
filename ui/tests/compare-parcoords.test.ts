import { describe, expect, it } from "vitest";
import { brushBetween, makeAxis, passes, position, ticks } from "../src/pages/compare/parcoords";

describe("parallel-coordinates axes", () => {
  it("scales a numeric param linearly", () => {
    const axis = makeAxis("lr", ["0.1", "0.001", "0.05", undefined]);
    expect(axis).toEqual({ kind: "numeric", key: "lr", min: 0.001, max: 0.1 });
    expect(position(axis, "0.001")).toBe(0);
    expect(position(axis, "0.1")).toBe(1);
    expect(position(axis, "0.0505")).toBeCloseTo(0.5, 12);
    expect(position(axis, undefined)).toBeNull();
  });

  it("puts a constant numeric axis in the middle", () => {
    const axis = makeAxis("depth", ["3", "3"]);
    expect(position(axis, "3")).toBe(0.5);
    expect(ticks(axis)).toEqual([{ at: 0.5, label: "3" }]);
  });

  it("orders categories naturally and spreads them evenly", () => {
    const axis = makeAxis("opt", ["sgd", "adam", "Adagrad", "sgd"]);
    expect(axis.kind).toBe("categorical");
    if (axis.kind !== "categorical") return;
    expect(axis.categories).toEqual(["Adagrad", "adam", "sgd"]);
    expect(position(axis, "Adagrad")).toBe(0);
    expect(position(axis, "adam")).toBe(0.5);
    expect(position(axis, "sgd")).toBe(1);
    expect(position(axis, "rmsprop")).toBeNull();
  });

  it("treats a param with any non-number as categorical, numbers in natural order", () => {
    const axis = makeAxis("layers", ["10", "2", "none"]);
    expect(axis.kind === "categorical" && axis.categories).toEqual(["2", "10", "none"]);
  });

  it("takes metrics as numbers", () => {
    const axis = makeAxis("acc", [0.5, 0.75, 1]);
    expect(position(axis, 0.75)).toBe(0.5);
    expect(ticks(axis).map((t) => t.label)).toEqual(["0.5", "0.625", "0.75", "0.875", "1"]);
  });

  it("filters lines by every brush", () => {
    const axes = [makeAxis("lr", ["1", "2", "3"]), makeAxis("opt", ["a", "b", "c"])];
    const brushes = { lr: brushBetween(0.6, 0.3) };
    expect(brushes.lr).toEqual({ lo: 0.3, hi: 0.6 });
    expect(passes(axes, ["2", "a"], brushes)).toBe(true);
    expect(passes(axes, ["1", "a"], brushes)).toBe(false);
    expect(passes(axes, [undefined, "a"], brushes)).toBe(false);
    expect(passes(axes, ["2", "c"], { ...brushes, opt: { lo: 0, hi: 0.5 } })).toBe(false);
    expect(passes(axes, ["1", "c"], {})).toBe(true);
    expect(brushBetween(-1, 2)).toEqual({ lo: 0, hi: 1 });
  });
});
