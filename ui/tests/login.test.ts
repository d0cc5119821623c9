import { describe, expect, it } from "vitest";
import { safeNext } from "../src/lib/safeNext";

describe("safeNext", () => {
  it("keeps same-origin paths", () => {
    expect(safeNext("/runs/abc?x=1")).toBe("/runs/abc?x=1");
  });
  it.each(["//evil.example", "/\\evil.example", "https://evil.example", "javascript:alert(1)", "", null])(
    "refuses %s",
    (next) => {
      expect(safeNext(next)).toBe("/");
    },
  );
});
