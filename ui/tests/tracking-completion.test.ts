import { describe, expect, it } from "vitest";
import { applySuggestion, complete, quoteKey, type KnownKeys } from "../src/pages/tracking/searchCompletion";

const KEYS: KnownKeys = {
  metrics: ["acc", "accuracy", "val loss", "f1"],
  params: ["lr", "max_depth"],
  tags: ["mlflow.parentRunId", "team"],
};

/** Complete with the cursor at "|" in `marked`. */
function at(marked: string, options = {}) {
  const cursor = marked.indexOf("|");
  const text = marked.replace("|", "");
  return { text, result: complete(text, cursor, KEYS, options) };
}
const labels = (marked: string, options = {}) => at(marked, options).result.items.map((s) => s.label);

describe("completion of keys", () => {
  it("offers entities and every key on an empty box", () => {
    const items = labels("|");
    expect(items.slice(0, 5)).toEqual(["metrics.", "params.", "tags.", "attributes.", "datasets."]);
    expect(items).toContain("metrics.acc");
    expect(items).toContain("params.lr");
    expect(items).toContain("attributes.status");
  });

  it("finds a key from a bare word, prefix matches of the key first", () => {
    const { result } = at("acc|");
    expect(result.items.map((s) => s.label).slice(0, 2)).toEqual(["metrics.acc", "metrics.accuracy"]);
    expect([result.from, result.to]).toEqual([0, 3]);
  });

  it("lists only an entity's keys after its prefix", () => {
    expect(labels("metrics.|")).toEqual(["metrics.acc", "metrics.accuracy", "metrics.val loss", "metrics.f1"]);
    expect(labels("params.m|")).toEqual(["params.max_depth"]);
    expect(labels("tags.mlflow.p|")).toEqual(["tags.mlflow.parentRunId"]);
  });

  it("quotes keys the grammar cannot take bare", () => {
    const { text, result } = at("metrics.val|");
    const item = result.items.find((s) => s.label === "metrics.val loss")!;
    expect(item.insert).toBe("metrics.`val loss` ");
    expect(applySuggestion(text, result, item).text).toBe("metrics.`val loss` ");
    expect(quoteKey("a`b c")).toBe("`a``b c`");
    expect(quoteKey("mlflow.parentRunId")).toBe("mlflow.parentRunId");
  });

  it("replaces the whole word under the cursor", () => {
    const { text, result } = at("metr|ics.acc > 1");
    expect([result.from, result.to]).toEqual([0, 11]);
    const next = applySuggestion(text, result, result.items.find((s) => s.label === "metrics.f1")!);
    expect(next.text).toBe("metrics.f1 > 1");
  });

  it("completes after AND, OR and an opening parenthesis", () => {
    expect(labels("metrics.acc > 0.9 AND par|").slice(0, 3)).toEqual(["params.", "params.lr", "params.max_depth"]);
    expect(labels("(metrics.acc > 1 OR |").slice(0, 1)).toEqual(["metrics."]);
    expect(labels("(lr|")).toContain("params.lr");
  });
});

describe("completion of operators", () => {
  it("offers numeric operators after a metric", () => {
    expect(labels("metrics.acc |")).toEqual(["=", "!=", "<", "<=", ">", ">=", "IS NULL", "IS NOT NULL"]);
  });
  it("offers string operators after a param and a tag", () => {
    expect(labels("params.lr |")).toEqual(["=", "!=", "LIKE", "ILIKE", "IN", "NOT IN", "IS NULL", "IS NOT NULL"]);
    expect(labels("tags.team I|")).toEqual(["ILIKE", "IN", "IS NULL", "IS NOT NULL"]);
  });
  it("knows attribute fields, bare or prefixed", () => {
    expect(labels("status |")).toContain("LIKE");
    expect(labels("attributes.start_time |")).not.toContain("LIKE");
    expect(labels("attributes.end_time |")).toContain("IS NULL");
  });
  it("narrows a half-typed operator", () => {
    expect(labels("metrics.acc >|")).toEqual([">", ">="]);
    expect(labels("params.lr IS |")).toEqual(["NULL", "NOT NULL"]);
    expect(labels("params.lr NOT |")).toEqual(["IN"]);
  });
  it("opens the list of IN", () => {
    const { text, result } = at("params.lr |");
    const next = applySuggestion(text, result, result.items.find((s) => s.label === "IN")!);
    expect(next.text).toBe("params.lr IN (");
  });
});

describe("completion of values and connectors", () => {
  const values = (entity: string, key: string) => (entity === "params" && key === "lr" ? ["0.01", "0.1", "it's"] : []);
  it("offers values seen for the field, quoted", () => {
    expect(labels("params.lr = |", { values })).toEqual(["'0.01'", "'0.1'", "'it''s'"]);
    expect(labels("params.lr = '0.0|", { values })).toEqual(["'0.01'"]);
    expect(labels("status = |")).toContain("'FINISHED'");
    expect(labels("metrics.acc > |")).toEqual([]);
  });
  it("offers values inside an IN list, then a comma or the closing parenthesis", () => {
    expect(labels("params.lr IN (|", { values })).toContain("'0.1'");
    expect(labels("params.lr IN ('0.1' |")).toEqual([",", ")"]);
    expect(labels("params.lr IN ('0.1', |", { values })).toContain("'0.01'");
  });
  it("offers AND/OR after a condition, and ) inside parentheses", () => {
    expect(labels("metrics.acc > 0.9 |")).toEqual(["AND", "OR"]);
    expect(labels("(metrics.acc > 0.9 |")).toEqual(["AND", "OR", ")"]);
    expect(labels("params.lr IS NULL |")).toEqual(["AND", "OR"]);
    expect(labels("metrics.acc > 0.9 a|")).toEqual(["AND"]);
  });
  it("never glues a choice onto the previous token", () => {
    const { text, result } = at("metrics.acc > 0.9|");
    expect(applySuggestion(text, result, result.items[0]).text).toBe("metrics.acc > 0.9 AND ");
  });
  it("stays quiet when the text is beyond help, and recovers after AND", () => {
    expect(labels("metrics.acc 5 |")).toEqual([]);
    expect(labels("metrics.acc 5 AND |")).toContain("metrics.acc");
  });
  it("hides a token already typed in full", () => {
    expect(labels("metrics.acc > 1 AND|")).toEqual([]);
  });
});
