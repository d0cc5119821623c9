import { useCallback, useEffect, useRef, useState } from "react";
import { countRuns, searchRuns, type Run, type RunSearchBody } from "../../api/tracking";

export interface RunPages {
  runs: Run[];
  /** The number of matching runs, when the server can count; null otherwise or until known. */
  count: number | null;
  done: boolean;
  loading: boolean;
  error: Error | undefined;
  /** The row the pages are being fetched up to. */
  wanted: number;
  /** Fetch pages until row `index` is loaded (or the search ends). */
  ensure: (index: number) => void;
}

const FIRST_PAGE = 200;
const MAX_PAGE = 1000;
const AHEAD = 100;

/**
 * The runs of a search, fetched page by page with the server's cursor as rows are asked for.
 *
 * Cursor pages come in order, so reaching row 50,000 fetches the pages before it (up to 1,000
 * runs each); a new `body` drops everything and aborts the request in flight.
 */
export function useRunPages(body: RunSearchBody | null): RunPages {
  const key = body ? JSON.stringify(body) : "";
  const [runs, setRuns] = useState<Run[]>([]);
  const [count, setCount] = useState<number | null>(null);
  const [done, setDone] = useState(false);
  const [loading, setLoading] = useState(false);
  const [error, setError] = useState<Error>();
  const [wanted, setWanted] = useState(0);
  // `gen` numbers each reset, so an answer to an older search (even one with the same body,
  // as React's strict mode re-runs effects) is never applied to this one.
  const live = useRef({ gen: 0, token: null as string | null, loaded: 0, busy: false, done: false, want: 0 });
  const controller = useRef<AbortController | null>(null);

  const fetchMore = useCallback(() => {
    const s = live.current;
    if (!body || s.busy || s.done || s.want < s.loaded) return;
    s.busy = true;
    setLoading(true);
    const size = s.loaded === 0 ? FIRST_PAGE : Math.min(MAX_PAGE, Math.max(FIRST_PAGE, s.want - s.loaded + AHEAD));
    const gen = s.gen;
    const signal = controller.current?.signal;
    searchRuns({ ...body, max_results: size, page_token: s.token }, signal)
      .then((page) => {
        if (live.current.gen !== gen) return;
        s.token = page.next_page_token;
        s.loaded += page.runs.length;
        s.done = !page.next_page_token || page.runs.length === 0;
        setRuns((prev) => prev.concat(page.runs));
        setDone(s.done);
        setError(undefined);
        s.busy = false;
        setLoading(false);
        if (!s.done && s.want >= s.loaded) fetchMore();
      })
      .catch((reason: unknown) => {
        if (live.current.gen !== gen || signal?.aborted) return;
        s.busy = false;
        s.done = true; // an error stops the scroll-driven fetching until the search changes
        setLoading(false);
        setError(reason instanceof Error ? reason : new Error(String(reason)));
      });
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [key]);

  useEffect(() => {
    controller.current?.abort();
    const c = new AbortController();
    controller.current = c;
    live.current = { gen: live.current.gen + 1, token: null, loaded: 0, busy: false, done: false, want: 0 };
    setRuns([]);
    setDone(false);
    setError(undefined);
    setCount(null);
    setWanted(0);
    if (!body) return () => c.abort();
    fetchMore();
    countRuns({ ...body, max_results: undefined, order_by: undefined }, c.signal)
      .then((n) => {
        if (!c.signal.aborted) setCount(n);
      })
      .catch(() => undefined); // the table works without a count
    return () => c.abort();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [key]);

  const ensure = useCallback(
    (index: number) => {
      const s = live.current;
      if (index > s.want) {
        s.want = index;
        setWanted(index);
      }
      fetchMore();
    },
    [fetchMore],
  );

  return { runs, count, done, loading, error, wanted, ensure };
}
