import type { ReactNode } from "react";
import { Refusal, isRefused } from "./Refusal";

/**
 * The frame of every admin section: its heading, then either the server's refusal (a
 * non-admin) or the section's content beside its form.
 */
export function AdminPage({
  title,
  what,
  error,
  before,
  aside,
  children,
}: {
  title: string;
  /** What the section does, for the refusal: "Managing users". */
  what: string;
  /** The first load's error: a 403 replaces the whole page. */
  error: Error | undefined;
  /** Shown above both columns (a new token's secret). */
  before?: ReactNode;
  aside: ReactNode;
  children: ReactNode;
}) {
  if (isRefused(error)) {
    return (
      <section>
        <h1>{title}</h1>
        <Refusal error={error} what={what} />
      </section>
    );
  }
  return (
    <section>
      <h1>{title}</h1>
      {before}
      <div className="admin-split">
        <div className="admin-main">{children}</div>
        {aside}
      </div>
    </section>
  );
}
