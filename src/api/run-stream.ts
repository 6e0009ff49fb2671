import type { RunEvent } from '../shared/events';
import { comparePositions, positionOf, type Position } from '../shared/event-id';
import type { LiveRelay } from '../relay/live-relay';
import type { RunState } from '../shared/run-types';
import { durableEventsAfter } from './durable-events';

// One subscriber's view of a run: durable events (workflow state) merged with live events (the
// relay), in id order, each exactly once. A live event is passed on only when it directly
// follows what the client already has; otherwise it waits until durable state fills the gap.

export interface RunStreamSources {
  relay: LiveRelay;
  getState(runId: string): Promise<RunState>;
  waitForClose(runId: string): Promise<void>;
}

export interface RunStreamOptions {
  /** Re-read durable state after this long without live events (approvals, missed live events). */
  quietRequeryMs?: number;
  /** First wait before re-reading durable state to fill a gap; doubles up to 500 ms. */
  gapRequeryMs?: number;
}

const DONE = Number.POSITIVE_INFINITY;
const same = (a: Position, b: Position) => comparePositions(a, b) === 0;

/** Whether `event` is the one that comes right after `cursor`. */
export function followsDirectly(cursor: Position, event: RunEvent): boolean {
  const [step, attempt, offset] = positionOf(event.id);
  switch (event.event) {
    case 'step.started':
      return step === 1 ? same(cursor, [0, 0, 0]) : cursor[0] === step - 1 && cursor[1] === DONE;
    case 'step.retrying':
      return cursor[0] === step && cursor[1] < attempt;
    case 'text.delta': {
      const start = offset - event.data.delta.length;
      if (start > 0) return same(cursor, [step, attempt, start]);
      return same(cursor, [step, attempt, 0]) || (attempt === 1 && same(cursor, [step, 0, 0]));
    }
    case 'tool.started':
    case 'tool.completed':
    case 'tool.failed':
      return offset === 1 ? same(cursor, [step, 0, 0]) : same(cursor, [step, 1, offset - 1]);
    default:
      // Step and run endings come from durable state only.
      return false;
  }
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

export async function* streamRun(
  runId: string,
  from: Position,
  sources: RunStreamSources,
  signal: AbortSignal,
  options: RunStreamOptions = {},
): AsyncGenerator<RunEvent> {
  const quietMs = options.quietRequeryMs ?? 1000;
  const gapMs = options.gapRequeryMs ?? 10;
  const subscription = sources.relay.subscribe(runId);
  let closed = false;
  const closedPromise = sources.waitForClose(runId).then(() => {
    closed = true;
    return 'closed' as const;
  });
  const aborted = abortPromise(signal);
  let cursor = from;
  let pending: RunEvent[] = [];
  let nextLive: Promise<{ live: RunEvent }> | undefined;
  let gapWaits = 0;

  try {
    while (!signal.aborted) {
      const closedBefore = closed;
      const state = await sources.getState(runId);
      for (const event of durableEventsAfter(state, cursor)) {
        yield event;
        cursor = positionOf(event.id);
      }
      if (state.status !== 'running' || closedBefore) return;

      let gap = false;
      const quiet = quietTimer(quietMs);
      try {
        while (!signal.aborted) {
          // Pass on every pending live event that now follows directly; drop those already sent.
          for (let progressed = true; progressed; ) {
            progressed = false;
            pending = pending.filter((event) => comparePositions(positionOf(event.id), cursor) > 0);
            const next = pending.find((event) => followsDirectly(cursor, event));
            if (next) {
              pending.splice(pending.indexOf(next), 1);
              yield next;
              cursor = positionOf(next.id);
              progressed = true;
            }
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
