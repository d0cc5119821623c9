/**
 * The registry pages' logic, kept free of React so Vitest checks it: search filters, the alias
 * timeline, the model card's layout, signatures read from MLmodel, check summaries and which
 * actions a promotion request offers to whom.
 */
import type { AliasMove, Check, PromotionRequest } from "../../api/registry";

// ---- search ------------------------------------------------------------------------------------

/** A string literal of the search grammar: quotes doubled, backslashes doubled. */
export function quote(value: string): string {
  return `'${value.replace(/\\/g, "\\\\").replace(/'/g, "''")}'`;
}

/** LIKE's wildcards taken literally. */
function likeLiteral(value: string): string {
  return value.replace(/[\\%_]/g, (c) => `\\${c}`);
}

/**
 * The registered-model filter for the list's search box: words are ANDed; ``key=value`` (or
 * ``tag:key=value``) is a tag condition, ``key=`` any value of that tag; anything else is a
 * case-insensitive part of the name.
 */
export function modelFilter(text: string): string {
  const clauses: string[] = [];
  for (const word of text.trim().split(/\s+/).filter(Boolean)) {
    const tag = /^(?:tag:)?([^=\s]+)=(.*)$/.exec(word);
    if (tag) {
      const key = tag[1].replace(/`/g, "");
      clauses.push(
        tag[2] === ""
          ? `tags.\`${key}\` LIKE '%'`
          : `tags.\`${key}\` = ${quote(tag[2])}`,
      );
    } else {
      clauses.push(`name ILIKE ${quote(`%${likeLiteral(word)}%`)}`);
    }
  }
  return clauses.join(" AND ");
}

// ---- alias history -----------------------------------------------------------------------------

export interface AliasSpan {
  alias: string;
  version: number;
  from: number;
  /** When it moved on (or was removed); null while it still holds. */
  until: number | null;
  movedBy: string;
  seq: number;
}

export interface AliasTrack {
  alias: string;
  /** Where it points now; null when it was removed. */
  current: number | null;
  /** Oldest first. */
  spans: AliasSpan[];
  /** Every move of this alias, newest first, for the table. */
  moves: AliasMove[];
}

/**
 * The alias moves of a model's history grouped per alias into the spans each version held it:
 * ``[v1 from t1 until t2, v3 from t2 until now]``. Stage changes (no alias) are left out;
 * aliases are ordered by their latest move, the most recently moved first.
 */
export function aliasTracks(moves: readonly AliasMove[]): AliasTrack[] {
  const byAlias = new Map<string, AliasMove[]>();
  for (const move of [...moves].sort((a, b) => a.seq - b.seq)) {
    if (!move.alias) continue;
    const list = byAlias.get(move.alias) ?? [];
    list.push(move);
    byAlias.set(move.alias, list);
  }
  const tracks: AliasTrack[] = [];
  for (const [alias, list] of byAlias) {
    const spans: AliasSpan[] = [];
    for (const move of list) {
      const open = spans[spans.length - 1];
      if (open && open.until === null) open.until = move.time;
      if (move.version !== null) {
        spans.push({ alias, version: move.version, from: move.time, until: null,
          movedBy: move.actor, seq: move.seq });
      }
    }
    const last = list[list.length - 1];
    tracks.push({ alias, current: last.version, spans, moves: [...list].reverse() });
  }
  const latest = (t: AliasTrack) => t.moves[0]?.seq ?? 0;
  return tracks.sort((a, b) => latest(b) - latest(a));
}

/** The stage changes in a model's history, newest first. */
export function stageChanges(moves: readonly AliasMove[]): AliasMove[] {
  return moves.filter((m) => !m.alias && m.stage).sort((a, b) => b.seq - a.seq);
}

/** A move in words: "set to v3 (was v1)", "removed (was v2)". */
export function describeMove(move: AliasMove): string {
  const was = move.previous === null ? "" : ` (was v${move.previous})`;
  if (move.stage && !move.alias) return `v${move.version} to ${move.stage}${was}`;
  if (move.version === null) return `removed${was}`;
  return `${move.previous === null ? "set to" : "moved to"} v${move.version}${was}`;
}

// ---- model card --------------------------------------------------------------------------------

export interface CardSection {
  title: string;
  fields: { key: string; label: string; value: string }[];
}

/** The model card's sections in the order a reader wants them; others follow alphabetically. */
const SECTION_ORDER = [
  "overview", "intended_use", "training_data", "evaluation", "limitations", "ethics", "owner",
];  // prettier-ignore

/** "intended_use" → "Intended use". */
export function humanize(key: string): string {
  const words = key.replace(/[_\-.]+/g, " ").trim();
  return words ? words[0].toUpperCase() + words.slice(1) : key;
}

/**
 * The version's ``model_card.*`` tags laid out as a card: ``model_card.<section>.<field>``
 * goes under its section, a plain ``model_card.<field>`` under "Overview" (or its own section
 * when it is a known one). Other tags are not the card's.
 */
export function modelCard(tags: Record<string, string>): CardSection[] {
  const sections = new Map<string, CardSection["fields"]>();
  for (const [key, value] of Object.entries(tags)) {
    if (!key.startsWith("model_card.")) continue;
    const rest = key.slice("model_card.".length);
    if (!rest) continue;
    const dot = rest.indexOf(".");
    let section: string;
    let field: string;
    if (dot > 0) {
      section = rest.slice(0, dot);
      field = rest.slice(dot + 1);
    } else if (SECTION_ORDER.includes(rest)) {
      section = rest;
      field = "";
    } else {
      section = "overview";
      field = rest;
    }
    const list = sections.get(section) ?? [];
    list.push({ key, label: field ? humanize(field) : "", value });
    sections.set(section, list);
  }
  const rank = (s: string) => {
    const i = SECTION_ORDER.indexOf(s);
    return i < 0 ? SECTION_ORDER.length : i;
  };
  return [...sections.entries()]
    .sort(([a], [b]) => rank(a) - rank(b) || a.localeCompare(b))
    .map(([name, fields]) => ({
      title: humanize(name),
      fields: fields.sort((a, b) => (a.label === "" ? -1 : b.label === "" ? 1 : a.label.localeCompare(b.label))),
    }));
}

// ---- signature ---------------------------------------------------------------------------------

export interface SchemaField {
  name: string | null;
  type: string;
  detail: string;
  required: boolean;
}

export interface Signature {
  inputs: SchemaField[] | null;
  outputs: SchemaField[] | null;
  params: SchemaField[] | null;
}

/** Undo YAML's quoting of one flow scalar (the forms ``yaml.safe_dump`` writes). */
function yamlScalar(raw: string): string | null {
  const text = raw.trim();
  if (text === "" || text === "null" || text === "~") return null;
  if (text.startsWith("'") && text.endsWith("'") && text.length >= 2) {
    return text.slice(1, -1).replace(/''/g, "'");
  }
  if (text.startsWith('"') && text.endsWith('"') && text.length >= 2) {
    try {
      return JSON.parse(text) as string;
    } catch {
      return text.slice(1, -1);
    }
  }
  return text;
}

function fieldsOf(json: string | null): SchemaField[] | null {
  if (json === null) return null;
  const parsed: unknown = JSON.parse(json);
  if (!Array.isArray(parsed)) return null;
  return parsed.map((spec: Record<string, unknown>) => {
    const type = String(spec.type ?? "");
    const extra: string[] = [];
    if (type === "tensor" && spec["tensor-spec"] && typeof spec["tensor-spec"] === "object") {
      const t = spec["tensor-spec"] as { dtype?: string; shape?: unknown[] };
      extra.push(`${t.dtype ?? "?"} [${(t.shape ?? []).join(", ")}]`);
    }
    if (spec.default !== undefined) extra.push(`default ${JSON.stringify(spec.default)}`);
    if (spec.shape !== undefined && type !== "tensor") extra.push(`shape ${JSON.stringify(spec.shape)}`);
    return {
      name: typeof spec.name === "string" ? spec.name : null,
      type,
      detail: extra.join(", "),
      required: spec.required !== false,
    };
  });
}

/**
 * The ``signature`` of an MLmodel file: its ``inputs``, ``outputs`` and ``params``, each a JSON
 * list stored as a YAML string (possibly folded over several lines). Null when the file has no
 * signature; a throw when it has one that does not parse.
 */
export function parseSignature(mlmodel: string): Signature | null {
  const lines = mlmodel.split(/\r?\n/);
  const start = lines.findIndex((l) => /^signature:\s*$/.test(l));
  if (start < 0) return null;
  const block: string[] = [];
  for (const line of lines.slice(start + 1)) {
    if (line.trim() !== "" && !/^\s/.test(line)) break;
    block.push(line);
  }
  const values: Record<string, string> = {};
  let current: string | null = null;
  for (const line of block) {
    const key = /^ {2}([a-z_]+):\s?(.*)$/.exec(line);
    if (key) {
      current = key[1];
      values[current] = key[2];
    } else if (current && /^ {3,}\S/.test(line)) {
      values[current] += " " + line.trim(); // a folded scalar's line break is one space
    }
  }
  const signature: Signature = {
    inputs: fieldsOf(yamlScalar(values.inputs ?? "")),
    outputs: fieldsOf(yamlScalar(values.outputs ?? "")),
    params: fieldsOf(yamlScalar(values.params ?? "")),
  };
  return signature.inputs || signature.outputs || signature.params ? signature : null;
}

// ---- checks ------------------------------------------------------------------------------------

export interface CheckSummary {
  passed: number;
  failed: number;
  total: number;
  ok: boolean;
  /** "3 of 4 checks pass; failing: metrics" */
  text: string;
}

export function summarizeChecks(checks: readonly Check[] | null | undefined): CheckSummary {
  const list = checks ?? [];
  const failing = list.filter((c) => !c.ok).map((c) => c.name);
  const passed = list.length - failing.length;
  const text =
    list.length === 0
      ? "the policy asks for no checks"
      : failing.length === 0
        ? `all ${list.length} check${list.length === 1 ? "" : "s"} pass`
        : `${passed} of ${list.length} checks pass; failing: ${failing.join(", ")}`;
  return { passed, failed: failing.length, total: list.length, ok: failing.length === 0, text };
}

export interface EvidenceRow {
  label: string;
  value: string;
  mono: boolean;
  /** A run id evidence names, to link to. */
  run?: string;
}

/** A check's frozen evidence as rows: metric values, tag values, data sets, file digests. */
export function evidenceRows(check: Check): EvidenceRow[] {
  const e = check.evidence ?? {};
  const rows: EvidenceRow[] = [];
  if (check.name === "metrics") {
    if (typeof e.run_id === "string") rows.push({ label: "run", value: e.run_id, mono: true, run: e.run_id });
    const values = (e.values ?? {}) as Record<string, number>;
    for (const [k, v] of Object.entries(values).sort()) rows.push({ label: k, value: String(v), mono: true });
    return rows;
  }
  if (check.name === "lineage") {
    // Data sets upstream of the version's run, each with the run that read it (older
    // requests' evidence has no ``read_by``: their check looked at the version's run only).
    const sets = (e.datasets ?? []) as { id: string; name: string; digest: string; read_by?: string }[];
    for (const d of sets) {
      const row: EvidenceRow = { label: `data set ${d.name}`, value: `id ${d.id}, sha256:${d.digest}`, mono: true };
      rows.push(d.read_by ? { ...row, value: `${row.value}, read by run ${d.read_by}`, run: d.read_by } : row);
    }
    if (typeof e.runs_walked === "number") rows.push({ label: "runs walked upstream", value: String(e.runs_walked), mono: true });
    return rows;
  }
  for (const [k, v] of Object.entries(e).sort(([a], [b]) => a.localeCompare(b))) {
    const value = typeof v === "string" ? v : JSON.stringify(v);
    rows.push({ label: k, value: check.name === "digests" ? `sha256:${value}` : value, mono: check.name !== "tags" });
  }
  return rows;
}

// ---- who may do what ---------------------------------------------------------------------------

export interface Viewer {
  name: string;
  admin?: boolean;
}

export interface RequestActions {
  approve: boolean;
  reject: boolean;
  cancel: boolean;
  apply: boolean;
  /** Why the viewer may not decide, when they may not. */
  note: string;
}

/**
 * Which buttons a request shows to ``viewer``. The server says what the caller may do
 * (``allowed``, on a single request's read: roles included); without it the state and who
 * asked decide: a pending request is decided by anyone but its requester who has not decided
 * yet, canceled by the requester (or an admin) while open, and an approved one applied. Either
 * way the server checks again when the button is pressed.
 */
export function requestActions(request: PromotionRequest, viewer: Viewer | null): RequestActions {
  const none = { approve: false, reject: false, cancel: false, apply: false };
  if (!viewer) return { ...none, note: "" };
  const own = viewer.name === request.requested_by;
  const decided = request.approvals.some((d) => d.approver === viewer.name);
  const pending = request.state === "PENDING";
  const open = pending || request.state === "APPROVED";
  const canDecide = pending && !own && !decided;
  const allowed = request.allowed ?? {
    approve: canDecide,
    reject: canDecide,
    cancel: open && (own || Boolean(viewer.admin)),
    apply: request.state === "APPROVED",
  };
  let note = "";
  if (pending && own) note = "You asked for this promotion, so someone else must approve it.";
  else if (pending && decided) note = "You have decided on this request.";
  else if (canDecide && !allowed.approve) note = "Your role on this model does not let you decide: the policy names who may.";
  return { ...allowed, note };
}

/** "1 of 2 approvals" from the decisions and the policy's count (when known). */
export function approvalProgress(request: PromotionRequest, required: number | null): string {
  const approved = request.approvals.filter((d) => d.decision === "approve").length;
  return required ? `${approved} of ${required} approval${required === 1 ? "" : "s"}` : `${approved} approval${approved === 1 ? "" : "s"}`;
}

// ---- formatting --------------------------------------------------------------------------------

export function formatBytes(size: number): string {
  if (size < 1024) return `${size} B`;
  const units = ["KiB", "MiB", "GiB", "TiB"];
  let value = size / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value < 10 ? value.toFixed(1) : Math.round(value)} ${units[unit]}`;
}

export interface Segment {
  version: number;
  /** Percent of the axis. */
  left: number;
  width: number;
  from: number;
  until: number | null;
}

/**
 * The spans of every track on one shared time axis (from the first move to ``now``), in
 * percent, so the timelines of several aliases line up. A span shorter than ``minWidth``
 * percent is widened to it, so a quick move stays visible and clickable.
 */
export function timelineSegments(tracks: readonly AliasTrack[], now: number, minWidth = 3): {
  start: number;
  end: number;
  rows: { alias: string; segments: Segment[] }[];
} {
  const starts = tracks.flatMap((t) => t.spans.map((s) => s.from));
  const start = starts.length ? Math.min(...starts) : now;
  const end = Math.max(now, start + 1);
  const scale = (t: number) => ((t - start) / (end - start)) * 100;
  return {
    start,
    end,
    rows: tracks.map((t) => ({
      alias: t.alias,
      segments: t.spans.map((s) => {
        const left = Math.min(scale(s.from), 100 - minWidth);
        const right = scale(s.until ?? end);
        return { version: s.version, left, width: Math.max(minWidth, right - left), from: s.from, until: s.until };
      }),
    })),
  };
}
