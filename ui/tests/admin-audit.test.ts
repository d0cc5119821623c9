import { describe, expect, it } from "vitest";
import {
  filtersFromSearch,
  filtersToQuery,
  filtersToSearch,
  hasFilters,
  isoToLocalInput,
  localInputToIso,
  NO_FILTERS,
} from "../src/pages/admin/auditFilters";
import { passwordProblem, shortHash, summaryParts, summaryText, tokenState } from "../src/pages/admin/summary";

describe("audit filters and the URL", () => {
  it("round-trips every filter through the query string", () => {
    const filters = {
      actor: "admin",
      action: "role.grant",
      resource_type: "team",
      resource_id: "ml",
      since: "2026-12-04T10:00:00.000Z",
      until: "2026-12-05T00:00:00.000Z",
      after: 42,
    };
    const search = filtersToSearch(filters);
    expect(search.toString()).toBe(
      "actor=admin&action=role.grant&resource_type=team&resource_id=ml" +
        "&since=2026-12-04T10%3A00%3A00.000Z&until=2026-12-05T00%3A00%3A00.000Z&after=42",
    );
    expect(filtersFromSearch(new URLSearchParams(search.toString()))).toEqual(filters);
  });

  it("leaves unset filters out of the URL and the query", () => {
    expect(filtersToSearch(NO_FILTERS).toString()).toBe("");
    expect(filtersToQuery(NO_FILTERS, 100)).toEqual({ limit: 100 });
    expect(hasFilters(NO_FILTERS)).toBe(false);
    expect(hasFilters({ ...NO_FILTERS, after: 5 })).toBe(false); // a page is not a filter
  });

  it("sends times as UTC milliseconds and the cursor as after_seq", () => {
    const query = filtersToQuery(
      { ...NO_FILTERS, action: "user.create", since: "2026-12-04T10:00:00.000Z", after: 7 },
      50,
    );
    expect(query).toEqual({ limit: 50, action: "user.create", since: Date.UTC(2026, 11, 4, 10), after_seq: 7 });
  });

  it("accepts epoch milliseconds in a shared link and drops nonsense", () => {
    const parsed = filtersFromSearch(new URLSearchParams("since=0&until=yesterday&after=-3&actor=%20bob%20"));
    expect(parsed.since).toBe("1970-01-01T00:00:00.000Z");
    expect(parsed.until).toBe("");
    expect(parsed.after).toBeNull();
    expect(parsed.actor).toBe("bob");
  });

  it("shows instants in local time in the form and back", () => {
    const iso = localInputToIso("2026-12-04T09:30");
    expect(isoToLocalInput(iso)).toBe("2026-12-04T09:30");
    expect(localInputToIso("")).toBe("");
    expect(isoToLocalInput("not a time")).toBe("");
  });
});

describe("audit summaries as text", () => {
  it("lists fields in key order with nested values as compact JSON", () => {
    const summary = { scope_type: "experiment", role: "editor", extra: { a: [1, 2] }, none: null, n: 3, ok: true };
    expect(summaryParts(summary)).toEqual([
      ["extra", '{"a":[1,2]}'],
      ["n", "3"],
      ["none", "null"],
      ["ok", "true"],
      ["role", "editor"],
      ["scope_type", "experiment"],
    ]);
    expect(summaryText({ role: "editor", user: "alice" })).toBe("role: editor · user: alice");
  });

  it("is empty for an empty summary and cuts long ones", () => {
    expect(summaryText({})).toBe("");
    const long = summaryText({ text: "x".repeat(500) }, 50);
    expect(long).toHaveLength(50);
    expect(long.endsWith("…")).toBe(true);
  });

  it("keeps markup as plain text (rendering escapes it)", () => {
    expect(summaryText({ name: '<img src=x onerror="1">' })).toBe('name: <img src=x onerror="1">');
  });

  it("handles a summary that is not an object", () => {
    expect(summaryParts("plain")).toEqual([["value", "plain"]]);
    expect(summaryParts(null)).toEqual([]);
  });
});

describe("admin helpers", () => {
  it("shortens hashes", () => {
    expect(shortHash("a".repeat(64))).toBe(`${"a".repeat(12)}…`);
    expect(shortHash("abc")).toBe("abc");
  });

  it("tells active, expired and revoked tokens apart", () => {
    expect(tokenState({ revoked_at: null, expires_at: null }, 10)).toBe("active");
    expect(tokenState({ revoked_at: null, expires_at: 10 }, 10)).toBe("expired");
    expect(tokenState({ revoked_at: 5, expires_at: 100 }, 10)).toBe("revoked");
  });

  it("checks passwords as the server does", () => {
    expect(passwordProblem("            ", 12, 1024)).toMatch(/blank/);
    expect(passwordProblem("short", 12, 1024)).toMatch(/7 more/);
    expect(passwordProblem("x".repeat(1025), 12, 1024)).toMatch(/At most/);
    expect(passwordProblem("correct horse battery", 12, 1024)).toBe("");
  });
});
