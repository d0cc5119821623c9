import { useEffect, useId, useRef, useState } from "react";
import { ATTRIBUTE_COLUMNS, sameColumn, type ColumnId, type Entity } from "./runView";
import type { KnownKeys } from "./searchCompletion";

interface Props {
  columns: ColumnId[];
  keys: KnownKeys;
  /** null: back to the default columns. */
  onChange: (columns: ColumnId[] | null) => void;
}

const LIMIT = 200;

/** A popover of every attribute, metric, param and tag, each a checkbox; a search narrows it. */
export function ColumnChooser({ columns, keys, onChange }: Props) {
  const [open, setOpen] = useState(false);
  const [query, setQuery] = useState("");
  const panel = useRef<HTMLDivElement>(null);
  const button = useRef<HTMLButtonElement>(null);
  const id = useId();

  useEffect(() => {
    if (!open) return;
    const close = (e: MouseEvent) => {
      if (!panel.current?.contains(e.target as Node) && !button.current?.contains(e.target as Node)) setOpen(false);
    };
    document.addEventListener("mousedown", close);
    return () => document.removeEventListener("mousedown", close);
  }, [open]);

  const toggle = (c: ColumnId) => {
    const has = columns.some((x) => sameColumn(x, c));
    onChange(has ? columns.filter((x) => !sameColumn(x, c)) : [...columns, c]);
  };
  const q = query.trim().toLowerCase();
  const groups: [string, Entity, readonly string[]][] = [
    ["Attributes", "attributes", ATTRIBUTE_COLUMNS],
    ["Metrics", "metrics", keys.metrics],
    ["Params", "params", keys.params],
    ["Tags", "tags", keys.tags],
  ];

  return (
    <div className="chooser">
      <button
        ref={button}
        type="button"
        className="secondary"
        aria-expanded={open}
        aria-controls={id}
        onClick={() => setOpen((o) => !o)}
      >
        Columns ({columns.length})
      </button>
      {open && (
        <div
          ref={panel}
          id={id}
          className="chooser-panel"
          role="dialog"
          aria-label="Choose columns"
          onKeyDown={(e) => {
            if (e.key === "Escape") {
              setOpen(false);
              button.current?.focus();
            }
          }}
        >
          <input
            type="search"
            aria-label="Find a column"
            placeholder="Find a metric, param or tag"
            value={query}
            autoFocus
            onChange={(e) => setQuery(e.target.value)}
          />
          <div className="chooser-lists">
            {groups.map(([title, entity, names]) => {
              const shown = names.filter((n) => !q || n.toLowerCase().includes(q) || entity.startsWith(q));
              if (!shown.length) return null;
              return (
                <fieldset key={entity}>
                  <legend>{title}</legend>
                  {shown.slice(0, LIMIT).map((name) => {
                    const c = { entity, key: name };
                    return (
                      <label key={name} className="inline check">
                        <input
                          type="checkbox"
                          checked={columns.some((x) => sameColumn(x, c))}
                          onChange={() => toggle(c)}
                        />
                        <span className="mono">{name}</span>
                      </label>
                    );
                  })}
                  {shown.length > LIMIT && <p className="hint">{shown.length - LIMIT} more: narrow the search.</p>}
                </fieldset>
              );
            })}
          </div>
          <div className="chooser-end">
            <button type="button" className="ghost" onClick={() => onChange(null)}>
              Defaults
            </button>
            <button type="button" onClick={() => setOpen(false)}>
              Done
            </button>
          </div>
        </div>
      )}
    </div>
  );
}
