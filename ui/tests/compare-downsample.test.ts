import { describe, expect, it } from "vitest";
import { downsample, keepIndexes } from "../src/pages/compare/downsample";

function random(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

describe("keepIndexes", () => {
  it("keeps every point of a short series", () => {
    expect(keepIndexes([3, 1, 2], 10)).toEqual([0, 1, 2]);
  });

  it("refuses a bound with no room for a bucket", () => {
    expect(() => keepIndexes([1, 2, 3, 4, 5], 3)).toThrow(RangeError);
  });

  it.each([4, 5, 10, 101, 1000])("stays within %i points, ascending, ends and extremes kept", (max) => {
    for (let seed = 1; seed <= 20; seed++) {
      const rnd = random(seed);
      const n = 50 + Math.floor(rnd() * 5000);
      const ys = Array.from({ length: n }, () => rnd() * 100 - 50);
      const kept = keepIndexes(ys, max);
      expect(kept.length).toBeLessThanOrEqual(Math.max(max, 0));
      expect(kept[0]).toBe(0);
      expect(kept[kept.length - 1]).toBe(n - 1);
      for (let i = 1; i < kept.length; i++) expect(kept[i]).toBeGreaterThan(kept[i - 1]);
      const values = kept.map((i) => ys[i]);
      expect(Math.min(...values)).toBe(Math.min(...ys));
      expect(Math.max(...values)).toBe(Math.max(...ys));
    }
  });

  it("keeps a spike and infinities", () => {
    const ys = Array.from({ length: 10_000 }, (_, i) => Math.sin(i / 100));
    ys[4321] = 1e9;
    ys[777] = -Infinity;
    const kept = keepIndexes(ys, 100);
    expect(kept).toContain(4321);
    expect(kept).toContain(777);
  });

  it("keeps a NaN and still stays within the bound", () => {
    const ys = Array.from({ length: 5000 }, (_, i) => i);
    ys[2500] = NaN;
    const kept = keepIndexes(ys, 99);
    expect(kept.length).toBeLessThanOrEqual(99);
    expect(kept).toContain(2500);
    expect(kept).toContain(1);
    expect(kept).toContain(4998);
  });

  it("matches the server's choice on a known series", () => {
    // min/max of each of 4 buckets of the interior [1..8]: see tracking/downsample.py
    const ys = [5, 1, 9, 2, 8, 3, 7, 4, 6, 0];
    expect(keepIndexes(ys, 10)).toEqual(ys.map((_, i) => i));
    expect(keepIndexes(ys, 6)).toEqual([0, 1, 2, 5, 6, 9]);
  });
});

describe("downsample", () => {
  it("thins x with y", () => {
    const xs = Array.from({ length: 1000 }, (_, i) => i * 10);
    const ys = xs.map((x) => (x === 5000 ? 99 : 1));
    const out = downsample(xs, ys, 20);
    expect(out.downsampled).toBe(true);
    expect(out.xs.length).toBe(out.ys.length);
    expect(out.xs[out.ys.indexOf(99)]).toBe(5000);
  });
});
