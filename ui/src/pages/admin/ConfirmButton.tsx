import { useEffect, useRef, useState } from "react";

/**
 * A destructive button that asks first, in the page (no window.confirm): the first press
 * shows "Yes, <verb>" and "Cancel", focus moves to the confirmation, Escape cancels.
 */
export function ConfirmButton({
  label,
  confirm,
  what,
  disabled,
  onConfirm,
}: {
  /** The button's text, e.g. "Revoke". */
  label: string;
  /** The confirming button's text, e.g. "Yes, revoke". */
  confirm: string;
  /** What it acts on, for screen readers: "Revoke ci of alice". */
  what: string;
  disabled?: boolean;
  onConfirm: () => void;
}) {
  const [asking, setAsking] = useState(false);
  const yes = useRef<HTMLButtonElement>(null);
  useEffect(() => {
    if (asking) yes.current?.focus();
  }, [asking]);

  if (!asking) {
    return (
      <button type="button" className="ghost danger-text" disabled={disabled} aria-label={what} onClick={() => setAsking(true)}>
        {label}
      </button>
    );
  }
  return (
    <span className="confirm" role="group" aria-label={`Confirm: ${what}`} onKeyDown={(e) => e.key === "Escape" && setAsking(false)}>
      <button
        ref={yes}
        type="button"
        className="danger"
        disabled={disabled}
        onClick={() => {
          setAsking(false);
          onConfirm();
        }}
      >
        {confirm}
      </button>
      <button type="button" className="ghost" onClick={() => setAsking(false)}>
        Cancel
      </button>
    </span>
  );
}
