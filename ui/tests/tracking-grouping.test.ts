import { describe, expect, it } from "vitest";
import { groupId, groupRows, plainRows } from "../src/pages/tracking/grouping";

interface R {
  id: string;
  depth?: string;
}
const runs: R[] = [
  { id: "a", depth: "3" },
  { id: "b", depth: "6" },
  { id: "c" },
  { id: "d", depth: "3" },
  { id: "e", depth: "" },
];
const keyOf = (r: R) => r.depth;

describe("grouping rows by a param", () => {
  it("groups in order of first appearance, keeping the order inside each group", () => {
    const rows = groupRows(runs, keyOf, new Set());
    expect(rows.map((r) => (r.type === "group" ? `[${r.value}:${r.count}]` : r.item.id))).toEqual([
      "[3:2]", "a", "d", "[6:1]", "b", "[null:1]", "c", "[:1]", "e",
    ]);
  });

  it("keeps a run's index in the loaded list", () => {
    const rows = groupRows(runs, keyOf, new Set());
    const d = rows.find((r) => r.type === "run" && r.item.id === "d");
    expect(d && d.type === "run" && d.index).toBe(3);
  });

  it("folds a collapsed group to its header and tells unset from empty", () => {
    const rows = groupRows(runs, keyOf, new Set([groupId("3"), groupId(null)]));
    expect(rows.map((r) => (r.type === "group" ? `[${r.value}:${r.count}${r.collapsed ? "+" : ""}]` : r.item.id))).toEqual([
      "[3:2+]", "[6:1]", "b", "[null:1+]", "[:1]", "e",
    ]);
    expect(groupId(null)).not.toBe(groupId(""));
  });

  it("has plain rows without grouping", () => {
    expect(plainRows(runs).map((r) => r.type === "run" && r.index)).toEqual([0, 1, 2, 3, 4]);
  });
});
