import type { RunEvent } from '../shared/events';

// What a subscriber whose socket pushes back is sent instead of its backlog, event for event.
// Only two kinds merge, and only within a stretch of events of their own kind, so no merge spans
// a step's start or end, a retry, a tool call's start or result, an approval or the run's end:
// - text deltas of one step and attempt become one delta. Their ids are the client's offset
//   after each delta, so the merged one takes the last id: the client's position after all of
//   them, the same id the last delta would have had. A resume from it neither loses nor repeats
//   a character.
// - usage estimates (usage.updated) among the text deltas of one step and attempt: only the latest
//   is kept, and only when no text came after it. Its id is the text it counted, so after the
//   merged delta the ones before would be old (accept drops them too); a newer estimate, or the
//   exact count at step.completed, follows.
// - a tool call's streamed output (tool.output.delta) of one attempt becomes one delta, as text
//   does: the last id says how much of that attempt's output the client has after all of them.
// - a tool call's progress updates keep only the latest: progress says how far a call is now
//   (the live tier already skips updates a reader missed: heartbeat fallback, rebuilt streams).
//   A kept update keeps its own id, which is where the uncoalesced stream would be after it.

type TextDelta = Extract<RunEvent, { event: 'text.delta' }>;
type UsageUpdate = Extract<RunEvent, { event: 'usage.updated' }>;
type ToolProgress = Extract<RunEvent, { event: 'tool.progress' }>;
type ToolOutput = Extract<RunEvent, { event: 'tool.output.delta' }>;

/** The backlog with each run of text deltas merged and superseded progress left out. */
export function coalesce(batch: RunEvent[]): RunEvent[] {
  const out: RunEvent[] = [];
  for (let index = 0; index < batch.length; ) {
    const event = batch[index]!;
    let end = index + 1;
    if (event.event === 'text.delta' || event.event === 'usage.updated') {
      while (end < batch.length && continuesText(event, batch[end]!)) end++;
      if (end - index === 1) out.push(event);
      else out.push(...mergeStretch(batch, index, end));
    } else if (event.event === 'tool.output.delta') {
      while (end < batch.length && continuesOutput(event, batch[end]!)) end++;
      out.push(end - index === 1 ? event : mergeOutput(batch as ToolOutput[], index, end));
    } else if (event.event === 'tool.progress') {
      while (end < batch.length && batch[end]!.event === 'tool.progress') end++;
      if (end - index === 1) out.push(event);
      else out.push(...latestProgress(batch as ToolProgress[], index, end));
    } else out.push(event);
    index = end;
  }
  return out;
}

function continuesText(first: TextDelta | UsageUpdate, event: RunEvent): boolean {
  return (event.event === 'text.delta' || event.event === 'usage.updated') && event.data.step === first.data.step && event.data.attempt === first.data.attempt;
}

/** A stretch of one attempt's deltas and usage estimates: one delta, then the last estimate if no text followed it. */
function mergeStretch(batch: RunEvent[], from: number, to: number): RunEvent[] {
  let firstText = -1;
  let lastText = -1;
  let texts = 0;
  let lastUsage = -1;
  for (let index = from; index < to; index++) {
    if (batch[index]!.event === 'text.delta') {
      if (firstText < 0) firstText = index;
      lastText = index;
      texts++;
    } else lastUsage = index;
  }
  const out: RunEvent[] = [];
  if (texts === 1) out.push(batch[firstText]!);
  else if (texts > 1) out.push(mergeText(batch, from, to));
  if (lastUsage > lastText) out.push(batch[lastUsage]!);
  return out;
}

/**
 * One delta for batch[from..to). Its data is a new object: the first delta's may be shared with
 * every subscriber of the run and carry their cached JSON (sse.ts), which must stay as it is.
 */
function mergeText(batch: RunEvent[], from: number, to: number): TextDelta {
  let first: TextDelta | undefined;
  let last: TextDelta | undefined;
  let delta = '';
  for (let index = from; index < to; index++) {
    const event = batch[index]!;
    if (event.event !== 'text.delta') continue;
    first ??= event;
    last = event;
    delta += event.data.delta;
  }
  return { event: 'text.delta', id: last!.id, data: { ...first!.data, delta } };
}

function continuesOutput(first: ToolOutput, event: RunEvent): boolean {
  return event.event === 'tool.output.delta' && event.data.step === first.data.step && event.data.callId === first.data.callId && event.data.attempt === first.data.attempt;
}

/** One output delta for batch[from..to) of one call and attempt (new data: see mergeText). */
function mergeOutput(batch: ToolOutput[], from: number, to: number): ToolOutput {
  let delta = '';
  for (let index = from; index < to; index++) delta += batch[index]!.data.delta;
  return { event: 'tool.output.delta', id: batch[to - 1]!.id, data: { ...batch[from]!.data, delta } };
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
