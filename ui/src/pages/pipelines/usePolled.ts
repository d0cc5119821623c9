import { useCallback, useEffect, useRef, useState } from "react";

/**
 * Load on `deps`, then again every `intervalMs` while `active(data)` says the thing is still
 * changing (a run RUNNING, a job QUEUED); polling stops by itself once nothing is. A refresh
 * keeps the old data on screen; a failed refresh shows its error and keeps polling.
 */
export function usePolled<T>(
  load: (signal: AbortSignal) => Promise<T>,
  deps: unknown[],
  intervalMs: number,
  active: (data: T) => boolean,
) {
  const [data, setData] = useState<T>();
  const [error, setError] = useState<Error>();
  const [tick, setTick] = useState(0);
  const loadRef = useRef(load);
  loadRef.current = load;
  const activeRef = useRef(active);
  activeRef.current = active;
  const [polling, setPolling] = useState(false);

  useEffect(() => {
    setData(undefined);
    setError(undefined);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, deps);

  useEffect(() => {
    const controller = new AbortController();
    let timer = 0;
    const run = () => {
      loadRef
        .current(controller.signal)
        .then((value) => {
          if (controller.signal.aborted) return;
          setData(value);
          setError(undefined);
          const again = activeRef.current(value);
          setPolling(again);
          if (again) timer = window.setTimeout(run, intervalMs);
        })
        .catch((reason: unknown) => {
          if (controller.signal.aborted) return;
          setError(reason instanceof Error ? reason : new Error(String(reason)));
          timer = window.setTimeout(run, intervalMs * 3);
        });
    };
    run();
    return () => {
      controller.abort();
      window.clearTimeout(timer);
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [...deps, tick, intervalMs]);

  const reload = useCallback(() => setTick((t) => t + 1), []);
  return { data, error, polling, reload };
}
