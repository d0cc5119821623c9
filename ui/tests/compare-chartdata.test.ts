import { describe, expect, it } from "vitest";
import { align, chartColumns, lastAtOrBefore, sortedByX } from "../src/pages/compare/chartData";

describe("chart data", () => {
  it("aligns series on one ascending x column with gaps as null", () => {
    expect(align([{ xs: [0, 2], ys: [1, 3] }, { xs: [1, 2], ys: [5, 6] }])).toEqual([
      [0, 1, 2],
      [1, null, 3],
      [null, 5, 6],
    ]);
  });

  it("sorts points by x", () => {
    expect(sortedByX({ xs: [3, 1, 2], ys: [30, 10, 20] })).toEqual({ xs: [1, 2, 3], ys: [10, 20, 30] });
  });

  it("drops non-finite values, and non-positive ones on a log scale", () => {
    const { data } = chartColumns([{ xs: [0, 1, 2, 3], ys: [1, NaN, 0, -1] }], 0, true);
    expect(data[1]).toEqual([1, null, null, null]);
    expect(chartColumns([{ xs: [0, 1], ys: [0, Infinity] }], 0, false).data[1]).toEqual([0, null]);
  });

  it("adds the raw line beside the smoothed one when smoothing", () => {
    const { data, smoothed } = chartColumns([{ xs: [0, 1], ys: [0, 10] }], 0.5, false);
    expect(data).toHaveLength(3);
    expect(data[2]).toEqual([0, 10]);
    expect(smoothed[0][1]).toBeCloseTo(5 / 0.75, 12);
  });

  it("finds the last point at or before x", () => {
    expect(lastAtOrBefore([0, 10, 20], 15)).toBe(1);
    expect(lastAtOrBefore([0, 10, 20], 20)).toBe(2);
    expect(lastAtOrBefore([0, 10, 20], -1)).toBe(-1);
    expect(lastAtOrBefore([], 3)).toBe(-1);
  });
});
