import { accept, formatCursor, type Cursor } from '../shared/event-position';
import type { RunEvent, StreamEvent } from '../shared/events';
import type { LiveRelay } from '../relay/live-relay';
import type { RunState } from '../shared/run-types';
import { durableEvents } from './durable-events';

// One subscriber's view of a run: durable events (workflow state) merged with live events (the
// relay), each exactly once, in an order the client's cursor can name. A live event is passed on
// only when it comes right after what the client has (accept); otherwise it waits until durable
// state fills the gap.

export interface RunStreamSources {
  relay: LiveRelay;
  getState(runId: string): Promise<RunState>;
  waitForClose(runId: string, signal: AbortSignal): Promise<void>;
}

export interface RunStreamOptions {
  /** Re-read durable state after this long without live events (approvals, missed live events). */
  quietRequeryMs?: number;
  /** First wait before re-reading durable state to fill a gap; doubles up to 500 ms. */
  gapRequeryMs?: number;
}

function abortPromise(signal: AbortSignal): Promise<'aborted'> {
  return new Promise((resolve) => {
    if (signal.aborted) resolve('aborted');
    else signal.addEventListener('abort', () => resolve('aborted'), { once: true });
  });
}

/** A timer that fires `ms` after the last touch(). One timer, not one per event. */
function quietTimer(ms: number) {
  let last = Date.now();
  let timer: NodeJS.Timeout | undefined;
  const fired = new Promise<'quiet'>((resolve) => {
    const check = () => {
      const left = last + ms - Date.now();
      if (left <= 0) resolve('quiet');
      else timer = setTimeout(check, left);
    };
    timer = setTimeout(check, ms);
  });
  return {
    fired,
    touch: () => {
      last = Date.now();
    },
    stop: () => clearTimeout(timer),
  };
}

/** Sends `event` if it comes next: returns the event as the client gets it, or old / gap. */
function take(cursor: { value: Cursor }, event: StreamEvent): RunEvent | 'old' | 'gap' {
  const verdict = accept(cursor.value, event.position);
  if (verdict.kind !== 'next') return verdict.kind;
  cursor.value = verdict.next;
  const { position: _position, ...body } = event;
  const out = { ...body, id: formatCursor(verdict.next) } as RunEvent;
  if (verdict.skip > 0 && out.event === 'text.delta') out.data = { ...out.data, delta: out.data.delta.slice(verdict.skip) };
  return out;
}

/**
 * Durable state, retried while Temporal cannot be reached (it restarts; the stream stays open,
 * keep-alives flowing). Undefined once the client has gone.
 */
async function readState(sources: RunStreamSources, runId: string, signal: AbortSignal, aborted: Promise<'aborted'>): Promise<RunState | undefined> {
  for (let wait = 250; !signal.aborted; wait = Math.min(wait * 2, 5000)) {
    try {
      return await sources.getState(runId);
    } catch (error) {
      if (error instanceof Error && error.name === 'RunNotFoundError') throw error;
      await Promise.race([new Promise((resolve) => setTimeout(resolve, wait)), aborted]);
    }
  }
  return undefined;
}

export async function* streamRun(
  runId: string,
  from: Cursor,
  sources: RunStreamSources,
  signal: AbortSignal,
  options: RunStreamOptions = {},
): AsyncGenerator<RunEvent> {
  const quietMs = options.quietRequeryMs ?? 1000;
  const gapMs = options.gapRequeryMs ?? 10;
  const subscription = sources.relay.subscribe(runId);
  let closed = false;
  const closedPromise = sources.waitForClose(runId, signal).then(() => {
    closed = true;
    return 'closed' as const;
  });
  const aborted = abortPromise(signal);
  const cursor = { value: from };
  let pending: StreamEvent[] = [];
  let nextLive: Promise<{ live: StreamEvent }> | undefined;
  let gapWaits = 0;

  try {
    while (!signal.aborted) {
      const closedBefore = closed;
      const state = await readState(sources, runId, signal, aborted);
      if (!state) return;
      for (const event of durableEvents(state)) {
        const out = take(cursor, event);
        if (typeof out === 'object') yield out;
      }
      if (state.status !== 'running' || closedBefore) return;

      let gap = false;
      const quiet = quietTimer(quietMs);
      try {
        while (!signal.aborted) {
          // Pass on every pending live event that now comes next; drop those the client has.
          for (let progressed = true; progressed; ) {
            progressed = false;
            const waiting: StreamEvent[] = [];
            for (const event of pending) {
              const out = take(cursor, event);
              if (typeof out === 'object') {
                yield out;
                progressed = true;
              } else if (out === 'gap') waiting.push(event);
            }
            pending = waiting;
          }
          if (pending.length > 0) {
            gap = true;
            break;
          }
          nextLive ??= subscription.next().then((live) => ({ live }));
          const outcome = await Promise.race([nextLive, closedPromise, quiet.fired, aborted]);
          if (typeof outcome === 'object') {
            nextLive = undefined;
            quiet.touch();
            pending.push(outcome.live);
            continue;
          }
          break;
        }
      } finally {
        quiet.stop();
      }
      if (gap) {
        const wait = Math.min(gapMs * 2 ** gapWaits++, 500);
        await Promise.race([new Promise((resolve) => setTimeout(resolve, wait)), aborted]);
      } else gapWaits = 0;
    }
  } finally {
    subscription.close();
  }
}
