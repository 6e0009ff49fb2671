import { accept, beginning, formatCursor, type Cursor } from '../shared/event-position';
import type { RunEvent, StreamEvent } from '../shared/events';
import type { LiveRelay } from '../relay/live-relay';
import { durableEvents } from './durable-events';
import type { RunCosts } from './run-costs';
import type { RunView } from './run-reader';

// One subscriber's view of a run: durable events (workflow state) merged with live events (the
// relay), each exactly once, in an order the client's cursor can name. A live event is passed on
// only when it comes right after what the client has (accept); otherwise it waits until durable
// state fills the gap.

export interface RunStreamSources {
  relay: LiveRelay;
  /**
   * The run's summary and a window of its steps from `fromStep`. fresh: a read that starts now
   * (after the run closed, an earlier read may predate the end).
   */
  getState(runId: string, options?: { fresh?: boolean; fromStep?: number }): Promise<RunView>;
  waitForClose(runId: string, signal: AbortSignal): Promise<void>;
}

export interface RunStreamOptions {
  /** Re-read durable state after this long without live events (approvals, missed live events). */
  quietRequeryMs?: number;
  /** First wait before re-reading durable state to fill a gap; doubles up to 500 ms. */
  gapRequeryMs?: number;
  /** Prices step.completed, the run's end and usage.updated (MODEL_PRICES); unset: no costs. */
  costs?: RunCosts;
}

function abortPromise(signal: AbortSignal): Promise<'aborted'> {
  return new Promise((resolve) => {
    if (signal.aborted) resolve('aborted');
    else signal.addEventListener('abort', () => resolve('aborted'), { once: true });
  });
}

/** Calls `onQuiet` once `ms` pass after the last touch(). One timer, not one per event. */
function quietTimer(ms: number, onQuiet: () => void) {
  let last = Date.now();
  let quiet = false;
  let timer: NodeJS.Timeout | undefined;
  const check = () => {
    const left = last + ms - Date.now();
    if (left > 0) timer = setTimeout(check, left);
    else {
      quiet = true;
      onQuiet();
    }
  };
  timer = setTimeout(check, ms);
  return {
    isQuiet: () => quiet,
    touch: () => {
      last = Date.now();
    },
    stop: () => clearTimeout(timer),
  };
}

/** The first step whose events the client may lack. */
function firstStepToRead(cursor: Cursor): number {
  switch (cursor.at) {
    case 'beginning':
    case 'run-start':
      return 1;
    case 'step-done':
      return cursor.step + 1;
    case 'run-end':
      return Number.MAX_SAFE_INTEGER;
    default:
      return cursor.step;
  }
}

/** Sends `event` if it comes next: returns the event as the client gets it, or old / gap. */
function take(cursor: { value: Cursor }, event: StreamEvent): RunEvent | 'old' | 'gap' {
  const verdict = accept(cursor.value, event.position);
  if (verdict.kind !== 'next') return verdict.kind;
  cursor.value = verdict.next;
  // Built field by field: a rest-spread copy of every event costs a runtime call each.
  const out = { event: event.event, data: event.data, id: formatCursor(verdict.next) } as RunEvent;
  if (verdict.skip > 0 && (out.event === 'text.delta' || out.event === 'tool.output.delta')) out.data = { ...out.data, delta: out.data.delta.slice(verdict.skip) };
  return out;
}

/**
 * Durable state, retried while Temporal cannot be reached (it restarts; the stream stays open,
 * keep-alives flowing). Undefined once the client has gone.
 */
async function readState(sources: RunStreamSources, runId: string, signal: AbortSignal, aborted: Promise<'aborted'>, fresh: boolean, fromStep: number): Promise<RunView | undefined> {
  for (let wait = 250; !signal.aborted; wait = Math.min(wait * 2, 5000)) {
    try {
      return await sources.getState(runId, { fresh, fromStep });
    } catch (error) {
      if (error instanceof Error && error.name === 'RunNotFoundError') throw error;
      await Promise.race([new Promise((resolve) => setTimeout(resolve, wait)), aborted]);
    }
  }
  return undefined;
}

/**
 * Where the run is now, for a viewer that wants no history (`?from=latest`): the position after
 * every event durable state and this API's relay hold for the run. A stream from there sends only
 * what happens next (exactly: the cursor is a position like any other).
 */
export async function liveEdge(runId: string, sources: RunStreamSources, signal: AbortSignal): Promise<Cursor | undefined> {
  const subscription = sources.relay.subscribe(runId);
  try {
    const aborted = abortPromise(signal);
    const cursor = { value: beginning as Cursor };
    for (;;) {
      const state = await readState(sources, runId, signal, aborted, false, firstStepToRead(cursor.value));
      if (!state) return undefined;
      let pending = subscription.drain();
      const passPending = () => {
        for (let progressed = true; progressed; ) {
          progressed = false;
          pending = pending.filter((event) => {
            const out = take(cursor, event);
            if (typeof out === 'object') progressed = true;
            return out === 'gap';
          });
        }
      };
      for (const event of durableEvents(state)) {
        passPending();
        take(cursor, event);
      }
      passPending();
      // A long run's durable state comes in windows: read on to its last step.
      if (state.nextStep === undefined) return cursor.value;
    }
  } finally {
    subscription.close();
  }
}

/**
 * The run's events for one subscriber, in batches: each batch is what could be sent before the
 * next wait (a burst of live events goes out in one write, not one write and one await per event).
 */
export async function* streamRun(
  runId: string,
  from: Cursor,
  sources: RunStreamSources,
  signal: AbortSignal,
  options: RunStreamOptions = {},
): AsyncGenerator<RunEvent[]> {
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
  let gapWaits = 0;
  let batch: RunEvent[] = [];
  let queuedSaid = false;
  let queuedReads = 0;
  const costs = options.costs;
  const send = (event: StreamEvent) => {
    const out = take(cursor, costs && event.event === 'usage.updated' ? costs.priceLive(event) : event);
    if (typeof out === 'object') batch.push(out);
    return out;
  };
  /** Passes on every pending live event that now comes next; drops those the client has. */
  const passPending = () => {
    for (let progressed = true; progressed && pending.length > 0; ) {
      progressed = false;
      const waiting: StreamEvent[] = [];
      for (const event of pending) {
        const out = send(event);
        if (typeof out === 'object') progressed = true;
        else if (out === 'gap') waiting.push(event);
      }
      pending = waiting;
    }
  };
  const flush = () => {
    const out = batch;
    batch = [];
    return out;
  };

  // One waiter, woken by whichever comes first: a live event, the run's end, a quiet period or
  // the client leaving. (Racing the same promises on every event would pile up reactions.)
  let wake: (() => void) | undefined;
  const wakeUp = () => {
    const resolve = wake;
    wake = undefined;
    resolve?.();
  };
  void closedPromise.then(wakeUp);
  void aborted.then(wakeUp);

  try {
    while (!signal.aborted) {
      const closedBefore = closed;
      const before = formatCursor(cursor.value);
      const state = await readState(sources, runId, signal, aborted, closedBefore, firstStepToRead(cursor.value));
      if (!state) return;
      // Live events that arrived meanwhile go in between the durable ones where they fit: a
      // durable read that overtakes a fast tool must not make its live progress old.
      pending.push(...subscription.drain());
      for (const event of costs ? costs.priceDurable(durableEvents(state), state) : durableEvents(state)) {
        passPending();
        send(event);
      }
      passPending();
      // Not taken by a worker yet: said once per connection, at the client's position (it names
      // no place in the run); the quiet timer reads again until a worker has it.
      if (state.status === 'queued' && !queuedSaid) {
        queuedSaid = true;
        batch.push({ event: 'run.queued', data: { runId, step: 0, reason: 'no worker has taken the run yet: they are all busy, or none is polling its task queue' }, id: formatCursor(cursor.value) });
      }
      // A window that stops before the run's last step: read on from where the client now is.
      if (state.nextStep !== undefined) {
        if (batch.length > 0) yield flush();
        if (formatCursor(cursor.value) !== before) continue;
        // No progress through a window (state that does not match the cursor): never spin.
        const wait = Math.min(gapMs * 2 ** gapWaits++, 500);
        await Promise.race([new Promise((resolve) => setTimeout(resolve, wait)), aborted]);
        continue;
      }
      if (((state.status !== 'running' && state.status !== 'queued') || closedBefore) && state.nextStep === undefined) {
        if (batch.length > 0) yield flush();
        return;
      }

      let gap = false;
      // A queued run is read again less and less often (up to 8 quiet periods apart): the step's
      // start wakes the stream as a live event, so the reads only cover a missed one.
      const quiet = quietTimer(state.status === 'queued' ? quietMs * Math.min(2 ** queuedReads++, 8) : quietMs, wakeUp);
      try {
        while (!signal.aborted) {
          passPending();
          if (pending.length > 0) {
            gap = true;
            break;
          }
          if (batch.length > 0) yield flush();
          let arrived = subscription.drain();
          if (arrived.length === 0) {
            await new Promise<void>((resolve) => {
              wake = resolve;
              subscription.onReady(wakeUp);
              if (closed || signal.aborted || quiet.isQuiet()) wakeUp();
            });
            arrived = subscription.drain();
          }
          // Too far behind: the stream ends, and the client resumes with Last-Event-ID.
          if (subscription.overflowed) return;
          if (arrived.length > 0) {
            // The events that woke us, and every one that came with them.
            pending.push(...arrived);
            quiet.touch();
            continue;
          }
          break;
        }
      } finally {
        quiet.stop();
      }
      if (batch.length > 0) yield flush();
      if (gap) {
        const wait = Math.min(gapMs * 2 ** gapWaits++, 500);
        await Promise.race([new Promise((resolve) => setTimeout(resolve, wait)), aborted]);
      } else gapWaits = 0;
    }
  } finally {
    subscription.close();
  }
}
