import { describe, expect, it } from "vitest";
import { smooth } from "../src/pages/compare/smoothing";

describe("smooth", () => {
  it("is the identity at weight 0", () => {
    expect(smooth([1, 5, 2, NaN, 3], 0)).toEqual([1, 5, 2, NaN, 3]);
  });

  it("is debiased: a constant stays constant from the first point", () => {
    for (const v of smooth([4, 4, 4, 4, 4], 0.9)) expect(v).toBeCloseTo(4, 12);
  });

  it("is an exponential moving average", () => {
    const out = smooth([0, 10], 0.5);
    expect(out[0]).toBe(0);
    // (0.5*0*0.5 + 0.5*10) / (1 - 0.25) = 5 / 0.75
    expect(out[1]).toBeCloseTo(5 / 0.75, 12);
  });

  it("passes non-finite points through without poisoning the rest", () => {
    const out = smooth([1, NaN, Infinity, null, 1], 0.8);
    expect(out[1]).toBeNaN();
    expect(out[2]).toBe(Infinity);
    expect(out[3]).toBeNull();
    expect(out[4]).toBeCloseTo(1, 12);
  });

  it("damps noise more as the weight grows", () => {
    const noisy = Array.from({ length: 500 }, (_, i) => (i % 2 ? 1 : -1));
    const spread = (w: number) => {
      const tail = smooth(noisy, w).slice(100) as number[];
      return Math.max(...tail) - Math.min(...tail);
    };
    expect(spread(0.9)).toBeLessThan(spread(0.5));
    expect(spread(0.5)).toBeLessThan(spread(0));
  });

  it("keeps the length", () => {
    expect(smooth([], 0.6)).toEqual([]);
    expect(smooth([1, 2, 3], 0.99).length).toBe(3);
  });
});
