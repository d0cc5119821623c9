/**
 * The diff table's rows: one per key, one cell per run, and whether the runs disagree.
 *
 * A run that lacks a key differs from one that has it (an absent param is a real
 * difference: "this run did not set dropout"). Values compare as the strings the API gives
 * for params and tags, and as numbers for metrics, so 0.1 and 0.10000 are the same.
 */

export interface DiffRow {
  section: string;
  key: string;
  values: (string | undefined)[];
  differs: boolean;
}

export function diffRows(
  section: string,
  perRun: Record<string, string | number>[],
  format: (v: string | number) => string = String,
): DiffRow[] {
  const keys = new Set<string>();
  for (const values of perRun) for (const k of Object.keys(values)) keys.add(k);
  const collator = new Intl.Collator(undefined, { numeric: true });
  return [...keys].sort(collator.compare).map((key) => {
    const raw = perRun.map((values) => (Object.hasOwn(values, key) ? values[key] : undefined));
    const canon = raw.map((v) => (v === undefined ? "\u0000absent" : canonical(v)));
    return {
      section,
      key,
      values: raw.map((v) => (v === undefined ? undefined : format(v))),
      differs: new Set(canon).size > 1,
    };
  });
}

function canonical(v: string | number): string {
  return typeof v === "number" ? `n:${v}` : `s:${v}`;
}

/** The rows to show: all, or only those that differ. */
export function visibleRows(rows: DiffRow[], onlyDifferences: boolean): DiffRow[] {
  return onlyDifferences ? rows.filter((r) => r.differs) : rows;
}
