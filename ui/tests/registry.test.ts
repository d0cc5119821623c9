import { describe, expect, it } from "vitest";
import type { AliasMove, Check, PromotionRequest } from "../src/api/registry";
import {
  aliasTracks,
  approvalProgress,
  describeMove,
  evidenceRows,
  formatBytes,
  modelCard,
  modelFilter,
  parseSignature,
  quote,
  requestActions,
  stageChanges,
  summarizeChecks,
  timelineSegments,
} from "../src/pages/registry/lib";

const move = (seq: number, alias: string, version: number | null, previous: number | null, time = seq * 1000, actor = "ann"): AliasMove => ({
  seq, time, actor, action: version === null ? "registered_model.alias.delete" : "registered_model.alias.set",
  alias, version, previous, stage: "",
});

describe("modelFilter", () => {
  it("is empty for no words", () => {
    expect(modelFilter("  ")).toBe("");
  });
  it("matches name parts case-insensitively, with LIKE wildcards literal", () => {
    expect(modelFilter("forest 50%")).toBe("name ILIKE '%forest%' AND name ILIKE '%50\\\\%%'");
  });
  it("turns key=value into a tag condition and key= into any value", () => {
    expect(modelFilter("team=ml tag:owner=")).toBe("tags.`team` = 'ml' AND tags.`owner` LIKE '%'");
  });
  it("doubles quotes so a value cannot end the string", () => {
    expect(quote("it's")).toBe("'it''s'");
    expect(modelFilter("o'neil")).toBe("name ILIKE '%o''neil%'");
  });
});

describe("aliasTracks", () => {
  const moves = [move(1, "champion", 1, null), move(2, "challenger", 2, null), move(3, "champion", 2, 1),
    move(4, "challenger", 3, 2), move(5, "old", 1, null), move(6, "old", null, 1),
    { ...move(7, "", 2, null), stage: "Production", action: "model_version.stage" }];

  it("groups moves per alias into the spans each version held it", () => {
    const tracks = aliasTracks(moves);
    const champion = tracks.find((t) => t.alias === "champion")!;
    expect(champion.current).toBe(2);
    expect(champion.spans).toEqual([
      { alias: "champion", version: 1, from: 1000, until: 3000, movedBy: "ann", seq: 1 },
      { alias: "champion", version: 2, from: 3000, until: null, movedBy: "ann", seq: 3 },
    ]);
    expect(champion.moves.map((m) => m.seq)).toEqual([3, 1]);
  });
  it("closes a removed alias's span and has no current version", () => {
    const old = aliasTracks(moves).find((t) => t.alias === "old")!;
    expect(old.current).toBeNull();
    expect(old.spans).toEqual([{ alias: "old", version: 1, from: 5000, until: 6000, movedBy: "ann", seq: 5 }]);
  });
  it("orders aliases by their latest move and leaves stage changes out", () => {
    expect(aliasTracks(moves).map((t) => t.alias)).toEqual(["old", "challenger", "champion"]);
    expect(stageChanges(moves).map((m) => m.stage)).toEqual(["Production"]);
  });
  it("accepts moves in any order", () => {
    const shuffled = [...moves].reverse();
    expect(aliasTracks(shuffled)).toEqual(aliasTracks(moves));
  });
  it("lays every track on one axis up to now", () => {
    const axis = timelineSegments(aliasTracks(moves.slice(0, 4)), 5000, 0);
    expect(axis.start).toBe(1000);
    expect(axis.end).toBe(5000);
    const champion = axis.rows.find((r) => r.alias === "champion")!;
    expect(champion.segments.map((s) => [s.version, s.left, s.width])).toEqual([[1, 0, 50], [2, 50, 50]]);
  });
  it("widens a very short span so it stays visible", () => {
    const axis = timelineSegments(aliasTracks([move(1, "a", 1, null, 0), move(2, "a", 2, 1, 1)]), 100_000, 2);
    expect(axis.rows[0].segments[0].width).toBe(2);
  });
  it("describes a move in words", () => {
    expect(describeMove(move(1, "a", 3, null))).toBe("set to v3");
    expect(describeMove(move(1, "a", 3, 1))).toBe("moved to v3 (was v1)");
    expect(describeMove(move(1, "a", null, 2))).toBe("removed (was v2)");
  });
});

describe("modelCard", () => {
  it("groups model_card tags into sections in a reader's order and skips other tags", () => {
    const card = modelCard({
      "model_card.limitations": "Not for children",
      "model_card.intended_use": "Triage",
      "model_card.evaluation.dataset": "holdout 2026",
      "model_card.evaluation.auc": "0.99",
      "model_card.summary": "A forest",
      "model_card.zeta.x": "z",
      owner: "ml-team",
    });
    expect(card.map((s) => s.title)).toEqual(["Overview", "Intended use", "Evaluation", "Limitations", "Zeta"]);
    expect(card[0].fields).toEqual([{ key: "model_card.summary", label: "Summary", value: "A forest" }]);
    expect(card[1].fields).toEqual([{ key: "model_card.intended_use", label: "", value: "Triage" }]);
    expect(card[2].fields.map((f) => f.label)).toEqual(["Auc", "Dataset"]);
  });
  it("is empty without model_card tags", () => {
    expect(modelCard({ "model_card.": "x", other: "y" })).toEqual([]);
  });
});

describe("parseSignature", () => {
  const head = "artifact_path: model\nflavors:\n  python_function:\n    loader_module: clew\n";
  it("reads inputs and outputs, folded over lines as yaml.safe_dump writes them", () => {
    const text = head + `signature:
  inputs: '[{"type": "double", "name": "mean radius", "required": true}, {"type": "long",
    "name": "it''s", "required": false}]'
  outputs: '[{"type": "tensor", "tensor-spec": {"dtype": "int64", "shape": [-1]}}]'
  params: null
utc_time_created: '2026-12-04'
`;
    const s = parseSignature(text)!;
    expect(s.inputs).toEqual([
      { name: "mean radius", type: "double", detail: "", required: true },
      { name: "it's", type: "long", detail: "", required: false },
    ]);
    expect(s.outputs).toEqual([{ name: null, type: "tensor", detail: "int64 [-1]", required: true }]);
    expect(s.params).toBeNull();
  });
  it("reads double-quoted scalars and params with defaults", () => {
    const text = `signature:\n  inputs: "[{\\"type\\": \\"string\\", \\"name\\": \\"text\\"}]"\n  params: '[{"name": "k", "type": "long", "default": 3, "shape": null}]'\n`;
    const s = parseSignature(text)!;
    expect(s.inputs).toEqual([{ name: "text", type: "string", detail: "", required: true }]);
    expect(s.params?.[0].detail).toBe("default 3, shape null");
  });
  it("is null when the file has no signature", () => {
    expect(parseSignature(head)).toBeNull();
    expect(parseSignature("signature:\n  inputs: null\n  outputs: null\n")).toBeNull();
  });
});

const request = (over: Partial<PromotionRequest> = {}): PromotionRequest => ({
  id: "a".repeat(32), model: "m", version: 2, target_kind: "alias", target: "champion", previous: 1,
  justification: "better", state: "PENDING", policy_version: 1, checks: [], applied_checks: null,
  approvals: [], requested_by: "ann", created_at: 1, decided_at: null, applied_at: null,
  applied_by: null, expires_at: null, ...over,
});

describe("requestActions", () => {
  it("never lets the requester decide their own request, but lets them cancel it", () => {
    const a = requestActions(request(), { name: "ann" });
    expect([a.approve, a.reject, a.cancel, a.apply]).toEqual([false, false, true, false]);
    expect(a.note).toMatch(/someone else/);
  });
  it("offers approve and reject to someone else, once", () => {
    expect(requestActions(request(), { name: "bob" })).toMatchObject({ approve: true, reject: true, cancel: false });
    const decided = request({ approvals: [{ approver: "bob", decision: "approve", comment: "", role: "maintainer", at: 2 }] });
    expect(requestActions(decided, { name: "bob" })).toMatchObject({ approve: false, reject: false });
  });
  it("follows what the server allows when it says, and says why a reviewer cannot decide", () => {
    const allowed = { approve: false, reject: false, cancel: false, apply: false };
    const a = requestActions(request({ allowed }), { name: "bob" });
    expect([a.approve, a.reject, a.cancel, a.apply]).toEqual([false, false, false, false]);
    expect(a.note).toMatch(/role/);
    const b = requestActions(request({ state: "APPROVED", allowed: { ...allowed, apply: true, cancel: true } }), { name: "bob" });
    expect([b.approve, b.apply, b.cancel]).toEqual([false, true, true]);
    expect(b.note).toBe("");
  });
  it("offers apply once approved, and nothing once closed", () => {
    expect(requestActions(request({ state: "APPROVED" }), { name: "bob" })).toMatchObject({ apply: true, approve: false });
    for (const state of ["APPLIED", "REJECTED", "CANCELED", "EXPIRED"]) {
      const a = requestActions(request({ state }), { name: "ann", admin: true });
      expect([a.approve, a.reject, a.cancel, a.apply]).toEqual([false, false, false, false]);
    }
  });
  it("shows nothing to nobody", () => {
    expect(requestActions(request(), null)).toMatchObject({ approve: false, cancel: false });
  });
  it("counts approvals against the policy", () => {
    const r = request({ approvals: [
      { approver: "bob", decision: "approve", comment: "", role: "maintainer", at: 2 },
      { approver: "cy", decision: "reject", comment: "", role: "maintainer", at: 3 },
    ] });
    expect(approvalProgress(r, 2)).toBe("1 of 2 approvals");
    expect(approvalProgress(r, null)).toBe("1 approval");
  });
});

describe("checks", () => {
  const checks: Check[] = [
    { name: "metrics", ok: true, detail: "ok", evidence: { run_id: "r1", values: { f1: 0.9, acc: 0.95 } } },
    { name: "digests", ok: false, detail: "changed: [model.pkl]", evidence: { "model.pkl": "abc" } },
    { name: "lineage", ok: true, detail: "1", evidence: { datasets: [{ id: "7", name: "train", digest: "d" }] } },
  ];
  it("summarises pass and fail", () => {
    expect(summarizeChecks(checks)).toMatchObject({ passed: 2, failed: 1, ok: false, text: "2 of 3 checks pass; failing: digests" });
    expect(summarizeChecks([checks[0]]).text).toBe("all 1 check pass");
    expect(summarizeChecks(null).text).toBe("the policy asks for no checks");
  });
  it("lays out each check's frozen evidence", () => {
    expect(evidenceRows(checks[0]).map((r) => [r.label, r.value])).toEqual([["run", "r1"], ["acc", "0.95"], ["f1", "0.9"]]);
    expect(evidenceRows(checks[1])).toEqual([{ label: "model.pkl", value: "sha256:abc", mono: true }]);
    expect(evidenceRows(checks[2])[0].value).toBe("id 7, sha256:d");
  });
  it("links the run that read each upstream data set, and says how far the walk went", () => {
    const upstream: Check = { name: "lineage", ok: true, detail: "1", evidence: {
      datasets: [{ id: "7", name: "train", digest: "d", read_by: "r9" }], runs_walked: 4 } };
    expect(evidenceRows(upstream)).toEqual([
      { label: "data set train", value: "id 7, sha256:d, read by run r9", mono: true, run: "r9" },
      { label: "runs walked upstream", value: "4", mono: true },
    ]);
  });
});

describe("formatBytes", () => {
  it.each([[0, "0 B"], [1023, "1023 B"], [1536, "1.5 KiB"], [1994045, "1.9 MiB"], [50 * 1024 ** 3, "50 GiB"]])(
    "%d → %s", (n, text) => expect(formatBytes(n)).toBe(text),
  );
});
