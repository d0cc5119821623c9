import { useEffect, useId, useMemo, useRef, useState } from "react";
import { ApiError } from "../../api/client";
import { applySuggestion, complete, type CompleteOptions, type Completion, type KnownKeys } from "./searchCompletion";

interface Props {
  value: string;
  keys: KnownKeys;
  values?: CompleteOptions["values"];
  onSubmit: (filter: string) => void;
  /** The server's answer to the last search, shown inline when it is a bad filter. */
  error?: Error;
}

/** `text` with the first occurrence of `part` (any case) in bold: what matched the typing. */
function Highlight({ text, part }: { text: string; part: string }) {
  const needle = part.replace(/^['"`]/, "").toLowerCase();
  const hay = text.toLowerCase();
  // In "metrics.acc" the typed word is most likely the key's, after the entity's dot.
  const dot = hay.indexOf(".");
  const afterDot = dot >= 0 && !needle.includes(".") ? hay.indexOf(needle, dot + 1) : -1;
  const at = !needle ? -1 : afterDot >= 0 ? afterDot : hay.indexOf(needle);
  if (at < 0) return <>{text}</>;
  const length = needle.length;
  return (
    <>
      {text.slice(0, at)}
      <b>{text.slice(at, at + length)}</b>
      {text.slice(at + length)}
    </>
  );
}

/**
 * The filter box: Clew's search grammar with completion of keys, operators and values.
 *
 * An ARIA 1.2 combobox: the input owns a listbox; ArrowDown/ArrowUp move, Enter or Tab take
 * the active choice, Escape closes the list, and Enter with no active choice runs the search.
 */
export function FilterBox({ value, keys, values, onSubmit, error }: Props) {
  const [text, setText] = useState(value);
  const [cursor, setCursor] = useState(value.length);
  const [open, setOpen] = useState(false);
  const [active, setActive] = useState(-1);
  const input = useRef<HTMLInputElement>(null);
  const pendingCursor = useRef<number | null>(null);
  const listId = useId();
  const errorId = useId();

  useEffect(() => setText(value), [value]);

  const completion: Completion = useMemo(() => complete(text, cursor, keys, { values }), [text, cursor, keys, values]);
  const items = completion.items;
  const shown = open && items.length > 0;

  useEffect(() => {
    if (pendingCursor.current !== null && input.current) {
      input.current.setSelectionRange(pendingCursor.current, pendingCursor.current);
      pendingCursor.current = null;
    }
  });

  useEffect(() => {
    if (active >= 0) document.getElementById(`${listId}-${active}`)?.scrollIntoView({ block: "nearest" });
  }, [active, listId]);

  const sync = (el: HTMLInputElement) => setCursor(el.selectionStart ?? el.value.length);

  const choose = (index: number) => {
    const item = items[index];
    if (!item) return;
    const next = applySuggestion(text, completion, item);
    setText(next.text);
    setCursor(next.cursor);
    pendingCursor.current = next.cursor;
    setOpen(true);
    setActive(-1);
    input.current?.focus();
  };

  const onKeyDown = (e: React.KeyboardEvent<HTMLInputElement>) => {
    if (e.key === "ArrowDown") {
      e.preventDefault();
      if (!open) setOpen(true);
      setActive((a) => (items.length ? (a + 1) % items.length : -1));
    } else if (e.key === "ArrowUp") {
      e.preventDefault();
      setActive((a) => (items.length ? (a <= 0 ? items.length - 1 : a - 1) : -1));
    } else if (e.key === "Escape") {
      if (shown) {
        e.preventDefault();
        setOpen(false);
        setActive(-1);
      }
    } else if (e.key === "Tab" && shown && !e.shiftKey) {
      e.preventDefault();
      choose(active >= 0 ? active : 0);
    } else if (e.key === "Enter") {
      e.preventDefault();
      if (shown && active >= 0) choose(active);
      else {
        setOpen(false);
        onSubmit(text.trim());
      }
    }
  };

  const problem = error instanceof ApiError && error.status === 400 ? error : undefined;
  const position = problem ? /at position (\d+)/.exec(problem.message)?.[1] : undefined;

  return (
    <div className="filter-box">
      <form
        className="filter-form"
        role="search"
        onSubmit={(e) => {
          e.preventDefault();
          setOpen(false);
          onSubmit(text.trim());
        }}
      >
        <div className="combo">
          <label htmlFor={listId + "-input"} className="visually-hidden">
            Filter runs
          </label>
          <input
            id={listId + "-input"}
            ref={input}
            className="mono filter-input"
            type="text"
            role="combobox"
            aria-expanded={shown}
            aria-controls={listId}
            aria-autocomplete="list"
            aria-activedescendant={shown && active >= 0 ? `${listId}-${active}` : undefined}
            aria-invalid={problem ? true : undefined}
            aria-describedby={problem ? errorId : undefined}
            autoComplete="off"
            spellCheck={false}
            placeholder="metrics.accuracy > 0.9 AND params.max_depth = '6'"
            value={text}
            onChange={(e) => {
              setText(e.target.value);
              sync(e.target);
              setOpen(true);
              setActive(-1);
            }}
            onKeyDown={onKeyDown}
            onKeyUp={(e) => {
              if (e.key === "ArrowLeft" || e.key === "ArrowRight" || e.key === "Home" || e.key === "End") sync(e.currentTarget);
            }}
            onClick={(e) => {
              sync(e.currentTarget);
              setOpen(true);
            }}
            onFocus={() => setOpen(true)}
            onBlur={() => setOpen(false)}
          />
          <div className="suggest-panel" hidden={!shown}>
            <ul id={listId} role="listbox" aria-label="Suggestions" className="suggestions">
              {shown &&
                items.map((item, i) => (
                  <li
                    key={item.label + i}
                    id={`${listId}-${i}`}
                    role="option"
                    aria-selected={i === active}
                    className={i === active ? "active" : undefined}
                    onMouseDown={(e) => {
                      e.preventDefault(); // keep the focus in the input
                      choose(i);
                    }}
                    onMouseEnter={() => setActive(i)}
                  >
                    <span className="mono">
                      <Highlight text={item.label} part={completion.prefix} />
                    </span>
                    {item.detail && <span className="suggestion-kind">{item.detail}</span>}
                  </li>
                ))}
            </ul>
            <p className="combo-keys hint" aria-hidden="true">
              Tab completes · ↑ ↓ choose · Enter searches · Esc closes
            </p>
          </div>
        </div>
        <button type="submit">Search</button>
        {value && (
          <button
            type="button"
            className="ghost"
            onClick={() => {
              setText("");
              onSubmit("");
            }}
          >
            Clear
          </button>
        )}
      </form>
      {problem && (
        <div className="error-box filter-error" id={errorId} role="alert">
          <strong>{problem.code}</strong> {problem.message}
          {position !== undefined && (
            <pre className="filter-caret mono" aria-hidden="true">
              {value + "\n" + " ".repeat(Number(position)) + "^"}
            </pre>
          )}
        </div>
      )}
    </div>
  );
}
