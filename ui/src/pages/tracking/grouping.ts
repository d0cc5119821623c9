/**
 * Grouping the loaded runs by a param, into the flat list of rows the virtual table draws.
 *
 * Client-side over the runs fetched so far (the table says so): groups keep the server's order
 * inside them and appear in the order their first run did, so a sorted table stays sorted; a
 * collapsed group is one header row.
 */

export interface GroupRow {
  type: "group";
  value: string | null;
  count: number;
  collapsed: boolean;
}

export interface ItemRow<T> {
  type: "run";
  item: T;
  /** Its position among the loaded items, to map a row back to the server's list. */
  index: number;
}

export type Row<T> = GroupRow | ItemRow<T>;

/** The rows for `items` grouped by `keyOf` (null: the param is not set). */
export function groupRows<T>(
  items: readonly T[],
  keyOf: (item: T) => string | null | undefined,
  collapsed: ReadonlySet<string>,
): Row<T>[] {
  const groups = new Map<string, { value: string | null; members: number[] }>();
  items.forEach((item, index) => {
    const raw = keyOf(item);
    const value = raw === undefined ? null : raw;
    const id = groupId(value);
    let group = groups.get(id);
    if (!group) {
      group = { value, members: [] };
      groups.set(id, group);
    }
    group.members.push(index);
  });
  const rows: Row<T>[] = [];
  for (const [id, group] of groups) {
    const isCollapsed = collapsed.has(id);
    rows.push({ type: "group", value: group.value, count: group.members.length, collapsed: isCollapsed });
    if (!isCollapsed) for (const index of group.members) rows.push({ type: "run", item: items[index], index });
  }
  return rows;
}

/** A stable id for a group value, distinct for "not set" and every string. */
export function groupId(value: string | null): string {
  return value === null ? "\u0000none" : "=" + value;
}

/** The rows without grouping. */
export function plainRows<T>(items: readonly T[]): Row<T>[] {
  return items.map((item, index) => ({ type: "run", item, index }));
}
