import { useCallback, useState } from "react";

export interface Action {
  busy: boolean;
  error: Error | undefined;
  /** What the last success said, for a live region. */
  done: string;
  run: (work: () => Promise<unknown>, done?: string) => Promise<boolean>;
  clear: () => void;
}

/**
 * One change at a time from a form or a button: busy while it runs, its error kept to show,
 * and a short message on success (for an aria-live region). Answers whether it worked.
 */
export function useAction(): Action {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<Error>();
  const [done, setDone] = useState("");
  const run = useCallback(async (work: () => Promise<unknown>, message = "") => {
    setBusy(true);
    setError(undefined);
    setDone("");
    try {
      await work();
      setDone(message);
      return true;
    } catch (reason) {
      setError(reason instanceof Error ? reason : new Error(String(reason)));
      return false;
    } finally {
      setBusy(false);
    }
  }, []);
  const clear = useCallback(() => {
    setError(undefined);
    setDone("");
  }, []);
  return { busy, error, done, run, clear };
}
