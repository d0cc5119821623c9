/**
 * How an artifact is previewed, chosen by its name, and a small CSV/TSV reader for the tables
 * the server does not preview. Pure, so the choices are tested without a browser.
 */

export type PreviewKind = "text" | "json" | "image" | "table" | "none";

const TEXT = new Set([
  "txt", "log", "md", "py", "yaml", "yml", "toml", "cfg", "ini", "sh", "sql", "r", "js", "ts", "html", "xml",
  "rst", "env", "conf", "properties", "ipynb_checkpoints", "diff", "patch",
]); // prettier-ignore
const TEXT_NAMES = new Set(["MLmodel", "MLproject", "requirements.txt", "conda.yaml", "Dockerfile", "LICENSE", "README"]);
const IMAGE: Record<string, string> = {
  png: "image/png",
  jpg: "image/jpeg",
  jpeg: "image/jpeg",
  gif: "image/gif",
  webp: "image/webp",
  svg: "image/svg+xml",
  bmp: "image/bmp",
};

function extension(path: string): string {
  const name = path.split("/").pop() ?? "";
  const dot = name.lastIndexOf(".");
  return dot > 0 ? name.slice(dot + 1).toLowerCase() : "";
}

export function previewKind(path: string): PreviewKind {
  const name = path.split("/").pop() ?? "";
  const ext = extension(path);
  if (ext === "json" || ext === "jsonl" || ext === "ipynb") return ext === "jsonl" ? "text" : "json";
  if (ext in IMAGE) return "image";
  if (ext === "csv" || ext === "tsv" || ext === "parquet") return "table";
  if (TEXT.has(ext) || TEXT_NAMES.has(name) || ext === "") return "text";
  return "none";
}

/** The MIME type an image artifact is shown as (the server sends every file as octets). */
export function imageType(path: string): string {
  return IMAGE[extension(path)] ?? "application/octet-stream";
}

export function delimiterOf(path: string): string {
  return extension(path) === "tsv" ? "\t" : ",";
}

/**
 * Rows of delimited text, with RFC 4180 quoting (quoted fields may hold the delimiter, doubled
 * quotes and newlines). At most `maxRows` rows after the header; `truncated` when more followed
 * or the text was cut mid-row (the caller downloaded only the head of the file).
 */
export function parseDelimited(
  text: string,
  delimiter: string,
  maxRows: number,
  cut = false,
): { columns: string[]; rows: string[][]; truncated: boolean } {
  const records: string[][] = [];
  let field = "";
  let record: string[] = [];
  let quoted = false;
  let i = 0;
  let complete = true;
  while (i < text.length && records.length <= maxRows) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i += 1;
        } else quoted = false;
      } else field += ch;
    } else if (ch === '"' && field === "") {
      quoted = true;
    } else if (ch === delimiter) {
      record.push(field);
      field = "";
    } else if (ch === "\n" || ch === "\r") {
      if (ch === "\r" && text[i + 1] === "\n") i += 1;
      record.push(field);
      records.push(record);
      record = [];
      field = "";
    } else field += ch;
    i += 1;
  }
  if (i >= text.length && (field !== "" || record.length)) {
    if (cut) complete = false; // the last line was cut off by the download limit
    else {
      record.push(field);
      records.push(record);
    }
  }
  const [columns = [], ...rest] = records;
  const truncated = rest.length > maxRows || i < text.length || !complete;
  return { columns, rows: rest.slice(0, maxRows), truncated };
}

export function formatBytes(n: number | null | undefined): string {
  if (n === null || n === undefined) return "";
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  if (n < 1024 ** 3) return `${(n / 1024 / 1024).toFixed(1)} MB`;
  return `${(n / 1024 ** 3).toFixed(2)} GB`;
}
