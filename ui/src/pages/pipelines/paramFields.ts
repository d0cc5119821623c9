/**
 * A pipeline's parameters as form fields: which control each type gets, its default as text,
 * and the text read back as the JSON value the job API binds (an error names the parameter).
 */
import type { ParamJson } from "../../api/pipelines";

export type FieldKind = "number" | "integer" | "text" | "boolean" | "json";

export function fieldKind(param: ParamJson): FieldKind {
  const type = (param.type ?? "").replace(/\s/g, "");
  if (type === "int") return "integer";
  if (type === "float") return "number";
  if (type === "str") return "text";
  if (type === "bool") return "boolean";
  if (!type && typeof param.default === "string") return "text";
  if (!type && typeof param.default === "number") return "number";
  if (!type && typeof param.default === "boolean") return "boolean";
  return "json";
}

export function defaultText(param: ParamJson): string {
  if (!("default" in param)) return "";
  const kind = fieldKind(param);
  if (kind === "text") return String(param.default ?? "");
  if (kind === "boolean") return param.default ? "true" : "false";
  if (kind === "json") return JSON.stringify(param.default, null, 2) ?? "";
  return param.default === null || param.default === undefined ? "" : String(param.default);
}

export type Parsed = { ok: true; value: unknown; given: boolean } | { ok: false; error: string };

/** The value to send; `given: false` when the field is left at an empty default-less state. */
export function parseParam(param: ParamJson, text: string): Parsed {
  const kind = fieldKind(param);
  const trimmed = text.trim();
  if (kind !== "text" && trimmed === "") {
    if ("default" in param) return { ok: true, value: param.default, given: false };
    return { ok: false, error: `${param.name} needs a value` };
  }
  switch (kind) {
    case "integer":
      return /^-?\d+$/.test(trimmed)
        ? { ok: true, value: Number(trimmed), given: true }
        : { ok: false, error: `${param.name} must be a whole number` };
    case "number":
      return Number.isFinite(Number(trimmed))
        ? { ok: true, value: Number(trimmed), given: true }
        : { ok: false, error: `${param.name} must be a number` };
    case "boolean":
      return { ok: true, value: trimmed === "true", given: true };
    case "text":
      return { ok: true, value: text, given: true };
    default:
      try {
        return { ok: true, value: JSON.parse(trimmed), given: true };
      } catch {
        return { ok: false, error: `${param.name} must be JSON` };
      }
  }
}

/** All parameters read back: the values to send, or every problem. */
export function parseParams(
  params: ParamJson[],
  texts: Record<string, string>,
): { ok: true; values: Record<string, unknown> } | { ok: false; errors: string[] } {
  const values: Record<string, unknown> = {};
  const errors: string[] = [];
  for (const param of params) {
    const parsed = parseParam(param, texts[param.name] ?? defaultText(param));
    if (!parsed.ok) errors.push(parsed.error);
    else values[param.name] = parsed.value;
  }
  return errors.length ? { ok: false, errors } : { ok: true, values };
}
