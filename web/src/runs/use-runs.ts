import { useEffect, useRef, useState } from 'react';
import type { RunDetails, RunListItem, RunListStatus } from '../../../src/client';
import { useApi } from '../api-context';

// The runs list, live: the page is read again every few seconds; each row's figures (steps,
// tokens, cost) come from the run itself, read again only while it runs (an ended run's never
// change, so they are kept).

export interface RunRow extends RunListItem {
  details?: RunDetails;
}

export function useRuns(status: RunListStatus | undefined, cursor: string | undefined, everyMs = 3000) {
  const { client } = useApi();
  const [rows, setRows] = useState<RunRow[]>();
  const [nextCursor, setNextCursor] = useState<string>();
  const [error, setError] = useState<string>();
  const ended = useRef(new Map<string, RunDetails>());

  useEffect(() => {
    const abort = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const load = async () => {
      try {
        const page = await client.listRuns({ ...(status ? { status } : {}), ...(cursor ? { cursor } : {}), limit: 20 }, { signal: abort.signal });
        const details = await Promise.all(
          page.runs.map(async (run): Promise<RunDetails | undefined> => {
            const kept = ended.current.get(run.runId);
            if (kept) return kept;
            try {
              const read = await client.getRun(run.runId, { fromStep: 1_000_000, signal: abort.signal });
              if (read.status !== 'running' && read.status !== 'queued') ended.current.set(run.runId, read);
              return read;
            } catch {
              return undefined;
            }
          }),
        );
        setRows(page.runs.map((run, index) => ({ ...run, ...(details[index] ? { details: details[index] } : {}) })));
        setNextCursor(page.nextCursor);
        setError(undefined);
      } catch (caught) {
        if (abort.signal.aborted) return;
        setError(caught instanceof Error ? caught.message : String(caught));
      }
      if (!abort.signal.aborted) timer = setTimeout(() => void load(), everyMs);
    };
    void load();
    return () => {
      abort.abort();
      clearTimeout(timer);
    };
  }, [client, status, cursor, everyMs]);

  return { rows, nextCursor, error };
}
