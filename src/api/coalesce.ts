import type { RunEvent } from '../shared/events';

// What a subscriber whose socket pushes back is sent instead of its backlog, event for event.
// Only two kinds merge, and only within a stretch of events of their own kind, so no merge spans
// a step's start or end, a retry, a tool call's start or result, an approval or the run's end:
// - text deltas of one step and attempt become one delta. Their ids are the client's offset
//   after each delta, so the merged one takes the last id: the client's position after all of
//   them, the same id the last delta would have had. A resume from it neither loses nor repeats
//   a character.
// - a tool call's progress updates keep only the latest: progress says how far a call is now
//   (the live tier already skips updates a reader missed: heartbeat fallback, rebuilt streams).
//   A kept update keeps its own id, which is where the uncoalesced stream would be after it.

type TextDelta = Extract<RunEvent, { event: 'text.delta' }>;
type ToolProgress = Extract<RunEvent, { event: 'tool.progress' }>;

/** The backlog with each run of text deltas merged and superseded progress left out. */
export function coalesce(batch: RunEvent[]): RunEvent[] {
  const out: RunEvent[] = [];
  for (let index = 0; index < batch.length; ) {
    const event = batch[index]!;
    let end = index + 1;
    if (event.event === 'text.delta') {
      while (end < batch.length && continuesText(event, batch[end]!)) end++;
      out.push(end - index === 1 ? event : mergeText(batch, index, end));
    } else if (event.event === 'tool.progress') {
      while (end < batch.length && batch[end]!.event === 'tool.progress') end++;
      if (end - index === 1) out.push(event);
      else out.push(...latestProgress(batch as ToolProgress[], index, end));
    } else out.push(event);
    index = end;
  }
  return out;
}

function continuesText(first: TextDelta, event: RunEvent): boolean {
  return event.event === 'text.delta' && event.data.step === first.data.step && event.data.attempt === first.data.attempt;
}

/**
 * One delta for batch[from..to). Its data is a new object: the first delta's may be shared with
 * every subscriber of the run and carry their cached JSON (sse.ts), which must stay as it is.
 */
function mergeText(batch: RunEvent[], from: number, to: number): TextDelta {
  const first = batch[from] as TextDelta;
  let delta = '';
  for (let index = from; index < to; index++) delta += (batch[index] as TextDelta).data.delta;
  return { event: 'text.delta', id: batch[to - 1]!.id, data: { ...first.data, delta } };
}

/** The last update of each call in batch[from..to), in the order they came. */
function latestProgress(batch: ToolProgress[], from: number, to: number): ToolProgress[] {
  const seen = new Set<string>();
  const kept: ToolProgress[] = [];
  for (let index = to - 1; index >= from; index--) {
    const event = batch[index]!;
    const call = `${event.data.step}:${event.data.callId}`;
    if (seen.has(call)) continue;
    seen.add(call);
    kept.push(event);
  }
  return kept.reverse();
}
