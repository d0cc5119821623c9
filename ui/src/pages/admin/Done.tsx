/** A polite live region for what the last change did. */
export function Done({ text }: { text: string }) {
  return (
    <p className="done" role="status" aria-live="polite">
      {text}
    </p>
  );
}
