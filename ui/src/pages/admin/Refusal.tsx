import { ApiError } from "../../api/client";
import { ErrorBox } from "../../components/Status";

/** True when the server refused the caller (403): not an admin, not a broken page. */
export function isRefused(error: Error | undefined): boolean {
  return error instanceof ApiError && error.status === 403;
}

/**
 * The server's 403 as a page-sized message: who may see this and how to get there. Any other
 * error shows as the usual error box.
 */
export function Refusal({ error, what }: { error: Error | undefined; what: string }) {
  if (!error) return null;
  if (!isRefused(error)) return <ErrorBox error={error} />;
  return (
    <div className="admin-refused" role="alert">
      <h2>Admins only</h2>
      <p>
        {what} is for admins. Your account is signed in but is not an admin, so the server refused
        (<span className="mono">{(error as ApiError).code}</span>: {error.message}).
      </p>
      <p>Ask an admin of this Clew server to make you one, or to do this for you.</p>
    </div>
  );
}
