import { useEffect, useRef, useState } from 'react';
import { ApiError, type RunDetails, type TemporalLinks } from '../../../src/client';
import { useApi } from '../api-context';
import { RunModel } from './run-model';

// A run's page state: its events from the start, through the typed client (which reconnects with
// Last-Event-ID by itself: nothing doubled, nothing missed), read with a stream token when the API
// has keys (the key itself never rides on the long-lived stream). Renders at most once a frame.

export interface RunSource {
  model: RunModel;
  version: number;
  error?: ApiError | Error;
  details?: RunDetails;
  links?: TemporalLinks;
  refreshLinks(): void;
}

export function useRun(runId: string): RunSource {
  const { client, keyed } = useApi();
  const modelRef = useRef<RunModel>(new RunModel(runId));
  const [version, setVersion] = useState(0);
  const [error, setError] = useState<ApiError | Error>();
  const [details, setDetails] = useState<RunDetails>();
  const [links, setLinks] = useState<TemporalLinks>();
  const [linksWanted, setLinksWanted] = useState(0);

  useEffect(() => {
    const model = new RunModel(runId);
    modelRef.current = model;
    const abort = new AbortController();
    let frame = 0;
    const render = () => {
      frame = 0;
      setVersion(model.version);
    };
    const changed = () => {
      if (!frame) frame = requestAnimationFrame(render);
    };
    void (async () => {
      try {
        const streamToken = keyed ? (await client.createStreamToken(runId, { signal: abort.signal })).streamToken : undefined;
        for await (const event of client.streamRun(runId, { signal: abort.signal, ...(streamToken ? { streamToken } : {}) })) {
          model.add(event);
          changed();
        }
      } catch (caught) {
        if (abort.signal.aborted) return;
        setError(caught instanceof Error ? caught : new Error(String(caught)));
      } finally {
        changed();
      }
    })();
    return () => {
      abort.abort();
      if (frame) cancelAnimationFrame(frame);
    };
  }, [client, keyed, runId]);

  // The run's summary (its Temporal link, the task) once, and the Temporal links when asked for.
  useEffect(() => {
    const abort = new AbortController();
    client
      .getRun(runId, { fromStep: 1_000_000, signal: abort.signal })
      .then(setDetails)
      .catch(() => undefined);
    return () => abort.abort();
  }, [client, runId]);

  const ended = modelRef.current.ended;
  useEffect(() => {
    const abort = new AbortController();
    client
      .temporalLinks(runId, { signal: abort.signal })
      .then(setLinks)
      .catch(() => undefined);
    return () => abort.abort();
  }, [client, runId, ended, linksWanted]);

  return { model: modelRef.current, version, ...(error ? { error } : {}), ...(details ? { details } : {}), ...(links ? { links } : {}), refreshLinks: () => setLinksWanted((count) => count + 1) };
}
