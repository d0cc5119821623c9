import { ApiError } from "../api/client";

/** Shared states every page shows the same way. */
export function Loading({ label = "Loading" }: { label?: string }) {
  return (
    <div className="loading" role="status" aria-live="polite">
      {label}…
    </div>
  );
}

export function ErrorBox({ error }: { error: Error | undefined }) {
  if (!error) return null;
  const code = error instanceof ApiError ? error.code : "ERROR";
  return (
    <div className="error-box" role="alert">
      <strong>{code}</strong> {error.message}
    </div>
  );
}

export function Empty({ children }: { children: React.ReactNode }) {
  return <p className="empty">{children}</p>;
}

export function NotFound() {
  return (
    <section>
      <h1>Not found</h1>
      <p>No page lives at this address.</p>
    </section>
  );
}
