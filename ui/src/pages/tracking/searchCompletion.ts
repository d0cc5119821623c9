/**
 * Completion for Clew's run search grammar (MLflow's, plus OR and parentheses).
 *
 * Pure: given the filter text, the cursor and the keys the experiment knows, it answers what may
 * come next and which slice of the text a choice replaces. The lexer here is deliberately
 * lenient (an unterminated quote or a half-typed operator is a token, never an error): the
 * server's parser is the judge of validity, this only has to guess well while the user types.
 */

export interface KnownKeys {
  metrics: string[];
  params: string[];
  tags: string[];
}

export type SuggestionKind = "entity" | "key" | "operator" | "value" | "keyword";

export interface Suggestion {
  /** What the list shows. */
  label: string;
  /** What replaces the range [from, to). */
  insert: string;
  kind: SuggestionKind;
  detail?: string;
  /** True when the text is not finished after this choice (an entity prefix): keep completing. */
  more?: boolean;
}

export interface Completion {
  items: Suggestion[];
  from: number;
  to: number;
  /** The partial text being completed ("" right after a space). */
  prefix: string;
}

type ValueKind = "number" | "string" | "id";

interface FieldInfo {
  entity: "metrics" | "params" | "tags" | "attributes" | "datasets";
  key: string;
  kind: ValueKind;
  ops: string[];
}

const NUMERIC_OPS = ["=", "!=", "<", "<=", ">", ">="];
const STRING_OPS = ["=", "!=", "LIKE", "ILIKE", "IN", "NOT IN"];
const NULL_OPS = ["IS NULL", "IS NOT NULL"];
const ID_OPS = ["=", "!=", "IN", "NOT IN"];

const ENTITY_ALIASES: Record<string, FieldInfo["entity"]> = {
  metrics: "metrics",
  metric: "metrics",
  params: "params",
  param: "params",
  parameters: "params",
  parameter: "params",
  tags: "tags",
  tag: "tags",
  attributes: "attributes",
  attribute: "attributes",
  attr: "attributes",
  run: "attributes",
  datasets: "datasets",
  dataset: "datasets",
};

/** The run attributes the server searches, with their value kinds. */
export const ATTRIBUTES: Record<string, { kind: ValueKind; ops: string[] }> = {
  run_name: { kind: "string", ops: STRING_OPS },
  status: { kind: "string", ops: STRING_OPS },
  user_id: { kind: "string", ops: STRING_OPS },
  run_id: { kind: "string", ops: STRING_OPS },
  start_time: { kind: "number", ops: NUMERIC_OPS },
  end_time: { kind: "number", ops: [...NUMERIC_OPS, ...NULL_OPS] },
  experiment_id: { kind: "id", ops: ID_OPS },
  artifact_uri: { kind: "string", ops: STRING_OPS },
  lifecycle_stage: { kind: "string", ops: STRING_OPS },
};
const ATTRIBUTE_ALIASES: Record<string, string> = { created: "start_time", runname: "run_name", id: "run_id" };
const DATASET_FIELDS = ["name", "digest", "context"];
const STATUSES = ["RUNNING", "SCHEDULED", "FINISHED", "FAILED", "KILLED"];
const MAX_ITEMS = 60;

// ---- lexing --------------------------------------------------------------------------------

type TokKind = "ident" | "keyword" | "string" | "number" | "op" | "lparen" | "rparen" | "comma" | "bad";

interface Tok {
  kind: TokKind;
  text: string;
  start: number;
  end: number;
  /** For "ident": the entity (canonical) and key; a bare word has entity undefined. */
  entity?: string;
  key?: string;
  /** For strings: true when the closing quote is missing. */
  open?: boolean;
}

const KEYWORDS = new Set(["AND", "OR", "NOT", "IN", "IS", "NULL", "LIKE", "ILIKE"]);
const PLAIN_KEY = /^[\w.\-/]+$/;

function readQuoted(text: string, start: number): { end: number; value: string; open: boolean } {
  const quote = text[start];
  let i = start + 1;
  let value = "";
  while (i < text.length) {
    const ch = text[i];
    if (ch === "\\" && i + 1 < text.length && (text[i + 1] === quote || text[i + 1] === "\\")) {
      value += text[i + 1];
      i += 2;
    } else if (ch === quote) {
      if (text[i + 1] === quote) {
        value += quote;
        i += 2;
      } else return { end: i + 1, value, open: false };
    } else {
      value += ch;
      i += 1;
    }
  }
  return { end: text.length, value, open: true };
}

/** Tokens of `text`, never throwing: what the server would refuse becomes a "bad" token. */
export function lex(text: string): Tok[] {
  const toks: Tok[] = [];
  let i = 0;
  while (i < text.length) {
    const ch = text[i];
    if (/\s/.test(ch)) {
      i += 1;
    } else if (ch === "'" || ch === '"') {
      const q = readQuoted(text, i);
      toks.push({ kind: "string", text: text.slice(i, q.end), start: i, end: q.end, key: q.value, open: q.open });
      i = q.end;
    } else if (ch === "`") {
      const q = readQuoted(text, i);
      toks.push({ kind: "ident", text: text.slice(i, q.end), start: i, end: q.end, key: q.value, open: q.open });
      i = q.end;
    } else if (/[A-Za-z_]/.test(ch)) {
      const word = /^\w+/.exec(text.slice(i))![0];
      let end = i + word.length;
      if (text[end] === ".") {
        const keyStart = end + 1;
        let key = "";
        let open = false;
        if (text[keyStart] === "`" || text[keyStart] === '"') {
          const q = readQuoted(text, keyStart);
          key = q.value;
          open = q.open;
          end = q.end;
        } else {
          const plain = /^[\w.\-/]*/.exec(text.slice(keyStart))![0];
          key = plain;
          end = keyStart + plain.length;
        }
        const entity = ENTITY_ALIASES[word.toLowerCase()] ?? word.toLowerCase();
        toks.push({ kind: "ident", text: text.slice(i, end), start: i, end, entity, key, open });
      } else if (KEYWORDS.has(word.toUpperCase())) {
        toks.push({ kind: "keyword", text: word.toUpperCase(), start: i, end });
      } else {
        toks.push({ kind: "ident", text: word, start: i, end, key: word });
      }
      i = end;
    } else if (/[0-9+\-.]/.test(ch)) {
      const m = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)?(?:[eE][+-]?\d*)?/.exec(text.slice(i))![0];
      const len = Math.max(m.length, 1);
      toks.push({ kind: m ? "number" : "bad", text: text.slice(i, i + len), start: i, end: i + len });
      i += len;
    } else if (/[<>=!]/.test(ch)) {
      const m = /^(<=|>=|!=|=|<|>|!)/.exec(text.slice(i))![0];
      toks.push({ kind: "op", text: m, start: i, end: i + m.length });
      i += m.length;
    } else if (ch === "(" || ch === ")" || ch === ",") {
      toks.push({ kind: ch === "(" ? "lparen" : ch === ")" ? "rparen" : "comma", text: ch, start: i, end: i + 1 });
      i += 1;
    } else {
      toks.push({ kind: "bad", text: ch, start: i, end: i + 1 });
      i += 1;
    }
  }
  return toks;
}

// ---- what the cursor may take -------------------------------------------------------------

function fieldOf(tok: Tok): FieldInfo | null {
  if (tok.kind !== "ident") return null;
  const entity = tok.entity ?? "attributes";
  const key = tok.key ?? "";
  switch (entity) {
    case "metrics":
      return { entity, key, kind: "number", ops: [...NUMERIC_OPS, ...NULL_OPS] };
    case "params":
    case "tags":
      return { entity, key, kind: "string", ops: [...STRING_OPS, ...NULL_OPS] };
    case "datasets":
      return { entity, key, kind: "string", ops: STRING_OPS };
    case "attributes": {
      const name = ATTRIBUTE_ALIASES[key.toLowerCase()] ?? key.toLowerCase();
      const attr = ATTRIBUTES[name];
      return attr ? { entity, key: name, ...attr } : { entity, key, kind: "string", ops: STRING_OPS };
    }
    default:
      return null;
  }
}

type State =
  | { at: "operand" }
  | { at: "operator"; field: FieldInfo }
  | { at: "is"; field: FieldInfo; not: boolean }
  | { at: "not"; field: FieldInfo }
  | { at: "value"; field: FieldInfo; op: string }
  | { at: "list-open"; field: FieldInfo }
  | { at: "list-value"; field: FieldInfo }
  | { at: "list-next"; field: FieldInfo }
  | { at: "connector" }
  | { at: "unknown" };

/** Walk the complete tokens before the cursor and say what the grammar expects next. */
function stateAfter(toks: Tok[]): State {
  let state: State = { at: "operand" };
  for (const tok of toks) {
    switch (state.at) {
      case "operand":
        if (tok.kind === "lparen" || (tok.kind === "keyword" && tok.text === "NOT")) state = { at: "operand" };
        else if (tok.kind === "ident") {
          const field = fieldOf(tok);
          state = field ? { at: "operator", field } : { at: "unknown" };
        } else state = { at: "unknown" };
        break;
      case "operator":
        if (tok.kind === "op") state = { at: "value", field: state.field, op: tok.text };
        else if (tok.kind === "keyword" && (tok.text === "LIKE" || tok.text === "ILIKE"))
          state = { at: "value", field: state.field, op: tok.text };
        else if (tok.kind === "keyword" && tok.text === "IN") state = { at: "list-open", field: state.field };
        else if (tok.kind === "keyword" && tok.text === "NOT") state = { at: "not", field: state.field };
        else if (tok.kind === "keyword" && tok.text === "IS") state = { at: "is", field: state.field, not: false };
        else state = { at: "unknown" };
        break;
      case "not":
        state = tok.kind === "keyword" && tok.text === "IN" ? { at: "list-open", field: state.field } : { at: "unknown" };
        break;
      case "is":
        if (tok.kind === "keyword" && tok.text === "NOT" && !state.not) state = { at: "is", field: state.field, not: true };
        else if (tok.kind === "keyword" && tok.text === "NULL") state = { at: "connector" };
        else state = { at: "unknown" };
        break;
      case "value":
        state = tok.kind === "string" || tok.kind === "number" ? { at: "connector" } : { at: "unknown" };
        break;
      case "list-open":
        state = tok.kind === "lparen" ? { at: "list-value", field: state.field } : { at: "unknown" };
        break;
      case "list-value":
        state = tok.kind === "string" || tok.kind === "number" ? { at: "list-next", field: state.field } : { at: "unknown" };
        break;
      case "list-next":
        if (tok.kind === "rparen") state = { at: "connector" };
        else if (tok.kind === "comma") state = { at: "list-value", field: state.field };
        else state = { at: "unknown" };
        break;
      case "connector":
        if (tok.kind === "keyword" && (tok.text === "AND" || tok.text === "OR")) state = { at: "operand" };
        else if (tok.kind === "rparen") state = { at: "connector" };
        else state = { at: "unknown" };
        break;
      case "unknown":
        // Resynchronise at the next AND/OR, so one odd token does not end all help.
        if (tok.kind === "keyword" && (tok.text === "AND" || tok.text === "OR")) state = { at: "operand" };
        break;
    }
  }
  return state;
}

// ---- suggestions ---------------------------------------------------------------------------

/** `key` as the grammar wants it after `entity.`: bare when plain, else backticked. */
export function quoteKey(key: string): string {
  return PLAIN_KEY.test(key) ? key : "`" + key.replace(/`/g, "``") + "`";
}

/** A string literal for `value`, single-quoted with quotes doubled. */
export function quoteString(value: string): string {
  return "'" + value.replace(/'/g, "''") + "'";
}

function rank(candidate: string, prefix: string): number {
  if (!prefix) return 1;
  const c = candidate.toLowerCase();
  const p = prefix.toLowerCase();
  if (c.startsWith(p)) return 3;
  const dot = c.indexOf(".");
  if (dot >= 0 && c.slice(dot + 1).startsWith(p)) return 2;
  return c.includes(p) ? 1 : 0;
}

function filterRanked(items: Suggestion[], prefix: string, matchOn: (s: Suggestion) => string): Suggestion[] {
  return items
    .map((item, index) => ({ item, index, score: rank(matchOn(item), prefix) }))
    .filter((x) => x.score > 0)
    .sort((a, b) => b.score - a.score || a.index - b.index)
    .map((x) => x.item);
}

function operandItems(keys: KnownKeys, tok: Tok | undefined): { items: Suggestion[]; prefix: string } {
  const keyed = (entity: "metrics" | "params" | "tags", names: string[], detail: string): Suggestion[] =>
    names.map((k) => ({ label: `${entity}.${k}`, insert: `${entity}.${quoteKey(k)} `, kind: "key", detail }));
  const all: Suggestion[] = [
    ...keyed("metrics", keys.metrics, "metric"),
    ...keyed("params", keys.params, "param"),
    ...keyed("tags", keys.tags, "tag"),
    ...Object.keys(ATTRIBUTES).map<Suggestion>((a) => ({
      label: `attributes.${a}`,
      insert: `attributes.${a} `,
      kind: "key",
      detail: "attribute",
    })),
    ...DATASET_FIELDS.map<Suggestion>((d) => ({ label: `datasets.${d}`, insert: `datasets.${d} `, kind: "key", detail: "dataset" })),
  ];
  const entities: Suggestion[] = ["metrics.", "params.", "tags.", "attributes.", "datasets."].map((e) => ({
    label: e,
    insert: e,
    kind: "entity",
    more: true,
  }));
  if (!tok) return { items: [...entities, ...all], prefix: "" };
  if (tok.entity !== undefined) {
    // "metrics.ac": keys of that entity only, matched on the key.
    const entity = tok.entity;
    const prefix = tok.key ?? "";
    const ofEntity = all.filter((s) => s.label.startsWith(entity + "."));
    return { items: filterRanked(ofEntity, prefix, (s) => s.label.slice(entity.length + 1)), prefix };
  }
  const prefix = tok.key ?? tok.text;
  // A bare word: an entity prefix, or any key containing it ("acc" finds metrics.acc).
  const matchingEntities = entities.filter((e) => e.label.startsWith(prefix.toLowerCase()));
  const keysFirst = filterRanked(all, prefix, (s) => s.label);
  return { items: [...matchingEntities, ...keysFirst], prefix };
}

function operatorItems(field: FieldInfo): Suggestion[] {
  return field.ops.map((op) => ({
    label: op,
    insert: op === "IN" || op === "NOT IN" ? `${op} (` : `${op} `,
    kind: "operator",
    detail: field.kind === "number" ? "number" : undefined,
  }));
}

function valueItems(field: FieldInfo, values: string[], listed: boolean): Suggestion[] {
  const seen = field.entity === "attributes" && field.key === "status" ? STATUSES : values;
  if (field.kind === "number") return [];
  const tail = listed ? "" : " ";
  return seen.map((v) => ({ label: quoteString(v), insert: quoteString(v) + tail, kind: "value" }));
}

const CONNECTORS: Suggestion[] = [
  { label: "AND", insert: "AND ", kind: "keyword" },
  { label: "OR", insert: "OR ", kind: "keyword" },
];

export interface CompleteOptions {
  /** Values seen for a field, as "params.lr" -> ["0.01", "0.1"], offered after an operator. */
  values?: (entity: string, key: string) => string[];
}

/**
 * Suggestions for the cursor at `cursor` in `text`. The range [from, to) is the token under
 * the cursor (its whole word, also the part after the cursor), or an empty range at the cursor.
 */
export function complete(text: string, cursor: number, keys: KnownKeys, options: CompleteOptions = {}): Completion {
  const toks = lex(text.slice(0, cursor));
  const last = toks[toks.length - 1];
  // The cursor touches the last token (no space in between): that token is being typed.
  const typing =
    last !== undefined &&
    last.end === cursor &&
    (last.kind === "ident" || last.kind === "keyword" || last.kind === "op" || (last.kind === "string" && last.open)) &&
    !(last.kind === "ident" && last.text.startsWith("`") && !last.open);
  const before = typing ? toks.slice(0, -1) : toks;
  const partial = typing ? last : undefined;
  let from = partial ? partial.start : cursor;
  let to = cursor;
  if (partial && partial.kind !== "string") {
    // Replace the rest of the word after the cursor too ("metr|ics.acc" -> the whole ident).
    const rest = /^[\w.\-/`]*/.exec(text.slice(cursor))![0];
    to = cursor + rest.length;
  }
  const state = stateAfter(before);
  const values = (f: FieldInfo) => options.values?.(f.entity, f.key) ?? [];
  const word = (partial?.text ?? "").toUpperCase();
  const byWord = (items: Suggestion[]) => (word ? items.filter((s) => s.label.toUpperCase().startsWith(word)) : items);

  let items: Suggestion[] = [];
  let prefix = partial?.text ?? "";
  switch (state.at) {
    case "operand": {
      if (partial?.kind === "op" || partial?.kind === "string") break;
      const found = operandItems(keys, partial?.kind === "keyword" ? { ...partial, key: partial.text.toLowerCase() } : partial);
      items = found.items;
      prefix = found.prefix;
      if (!partial || "NOT".startsWith(word)) items = [...items, { label: "(", insert: "(", kind: "keyword", more: true }];
      break;
    }
    case "operator":
      items = byWord(operatorItems(state.field));
      break;
    case "not":
      items = byWord([{ label: "IN", insert: "IN (", kind: "operator" }]);
      break;
    case "is":
      items = byWord(
        state.not
          ? [{ label: "NULL", insert: "NULL ", kind: "keyword" }]
          : [
              { label: "NULL", insert: "NULL ", kind: "keyword" },
              { label: "NOT NULL", insert: "NOT NULL ", kind: "keyword" },
            ],
      );
      break;
    case "value":
    case "list-value": {
      const listed = state.at === "list-value";
      const all = valueItems(state.field, values(state.field), listed);
      const typed = partial?.kind === "string" ? (partial.key ?? "") : "";
      items = partial && partial.kind !== "string" ? [] : filterRanked(all, typed, (s) => s.label.slice(1, -1));
      if (typed && partial) prefix = partial.text;
      break;
    }
    case "list-open":
      items = partial ? [] : [{ label: "(", insert: "(", kind: "keyword", more: true }];
      break;
    case "list-next":
      items = partial ? [] : [
        { label: ",", insert: ", ", kind: "keyword", more: true },
        { label: ")", insert: ") ", kind: "keyword" },
      ];
      break;
    case "connector": {
      const opens = before.filter((t) => t.kind === "lparen").length - before.filter((t) => t.kind === "rparen").length;
      const close: Suggestion[] = opens > 0 ? [{ label: ")", insert: ") ", kind: "keyword" }] : [];
      items = partial?.kind === "keyword" || partial?.kind === "ident" ? byWord(CONNECTORS) : partial ? [] : [...CONNECTORS, ...close];
      break;
    }
    case "unknown":
      items = [];
      break;
  }
  if (items.length === 1 && partial && items[0].insert.trim() === partial.text && !items[0].more) {
    // Already fully typed: nothing left to suggest for this token.
    items = [];
  }
  if (!partial) {
    from = cursor;
    to = cursor;
    // Right after a value or ")" with no space: a choice must not glue onto it ("0.9AND").
    if (cursor > 0 && !/[\s(]/.test(text[cursor - 1])) {
      items = items.map((s) => (s.label === "," || s.label === ")" ? s : { ...s, insert: " " + s.insert }));
    }
  }
  return { items: items.slice(0, MAX_ITEMS), from, to, prefix };
}

/** The text and cursor after choosing `item` from `completion`. */
export function applySuggestion(text: string, completion: Completion, item: Suggestion): { text: string; cursor: number } {
  const head = text.slice(0, completion.from);
  let tail = text.slice(completion.to);
  let insert = item.insert;
  if (insert.endsWith(" ") && tail.startsWith(" ")) insert = insert.slice(0, -1);
  if (tail && !/^[\s),]/.test(tail) && !insert.endsWith(" ") && !item.more) tail = " " + tail;
  return { text: head + insert + tail, cursor: head.length + insert.length };
}
