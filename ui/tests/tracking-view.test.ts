import { describe, expect, it } from "vitest";
import { effectiveColumns, nextOrder, orderByClause, parseView, viewSearch, type RunView } from "../src/pages/tracking/runView";

describe("the run view in the URL", () => {
  const view: RunView = {
    experimentIds: ["3", "7"],
    filter: "metrics.acc > 0.9 AND params.lr = '0.01'",
    order: { column: { entity: "metrics", key: "val, loss" }, desc: true },
    columns: [
      { entity: "attributes", key: "run_name" },
      { entity: "metrics", key: "val, loss" },
      { entity: "params", key: "a&b=c" },
      { entity: "tags", key: "mlflow.user" },
    ],
    groupBy: "max_depth",
  };

  it("round-trips every part, keys with commas and ampersands included", () => {
    const search = viewSearch(view, "3");
    expect(search.get("experiments")).toBe("7");
    expect(parseView(new URLSearchParams(search.toString()), "3")).toEqual(view);
  });

  it("round-trips with no route experiment", () => {
    const search = viewSearch(view);
    expect(search.get("experiments")).toBe("3,7");
    expect(parseView(new URLSearchParams(search.toString()))).toEqual(view);
  });

  it("leaves defaults out of the URL", () => {
    const plain: RunView = { experimentIds: ["1"], filter: "", order: null, columns: null, groupBy: null };
    expect(viewSearch(plain, "1").toString()).toBe("");
    expect(parseView(new URLSearchParams(""), "1")).toEqual(plain);
  });

  it("ignores columns it does not know", () => {
    const parsed = parseView(new URLSearchParams("col=bogus&col=attributes.nope&col=metrics.acc&order=x.y"));
    expect(parsed.columns).toEqual([{ entity: "metrics", key: "acc" }]);
    expect(parsed.order).toBeNull();
  });

  it("orders on the server with quoted keys", () => {
    expect(orderByClause({ entity: "metrics", key: "acc" }, true)).toBe("metrics.acc DESC");
    expect(orderByClause({ entity: "params", key: "my lr" }, false)).toBe("params.`my lr` ASC");
    expect(orderByClause({ entity: "attributes", key: "start_time" }, true)).toBe("attributes.start_time DESC");
  });

  it("cycles a header through descending, ascending and unsorted", () => {
    const acc = { entity: "metrics" as const, key: "acc" };
    const first = nextOrder(null, acc);
    expect(first).toEqual({ column: acc, desc: true });
    const second = nextOrder(first, acc);
    expect(second).toEqual({ column: acc, desc: false });
    expect(nextOrder(second, acc)).toBeNull();
    expect(nextOrder(second, { entity: "metrics", key: "f1" })).toEqual({ column: { entity: "metrics", key: "f1" }, desc: true });
  });

  it("shows the default attributes and the first metrics until columns are chosen", () => {
    const cols = effectiveColumns({ ...view, experimentIds: ["3"], columns: null }, ["a", "b", "c", "d", "e"]);
    expect(cols.map((c) => `${c.entity}.${c.key}`)).toEqual([
      "attributes.run_name", "attributes.status", "attributes.start_time", "attributes.duration", "attributes.user_id",
      "metrics.a", "metrics.b", "metrics.c", "metrics.d",
    ]);
  });
});

describe("default columns across experiments", () => {
  it("adds the experiment when the table spans several", () => {
    const view: RunView = { experimentIds: ["1", "2"], filter: "", order: null, columns: null, groupBy: null };
    expect(effectiveColumns(view, []).map((c) => c.key)).toContain("experiment_id");
  });
});
