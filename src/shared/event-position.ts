// Where an event stands in a run, and where a client stands (its cursor, sent as the SSE id).
//
// Ids are positions in the run, not counters of a connection, so a live, late or resumed stream
// names the same place the same way whatever the chunking was:
//
//   run.started                          0.0.0
//   step.started (step s)                s.0.0
//   step.retrying (attempt a >= 2)       s.a.0
//   context.trimmed (attempt a)          s.a.c   (before attempt a's text)
//   text.delta                           s.a.<offset after the delta, in UTF-16 code units of attempt a's text>
//   usage.updated                        not a place of its own: the id of the text it counted
//   tool events of a tools step          s.t.<call 1>-<call 2>-...: each call's mark, then, once it
//                                        has streamed output, ~<attempt>~<output offset>
//   step.completed                       s.done
//   run.completed / failed / cancelled   done
//
// The tool calls of a step run in parallel and finish in any order, so a tools-step id records,
// per call, how far the client got: 0 nothing, 1 started, 1+p progress update p, d finished.
// A call's streamed output (tool.output.delta) is text like a model step's: offsets in UTF-16
// code units of one attempt's output, a later attempt's output replacing an earlier one's.

export const FINISHED = Number.POSITIVE_INFINITY;

/** What an event is, structurally; the SSE id follows from it and the client's cursor. */
export type EventPosition =
  | { kind: 'run-start' }
  | { kind: 'step-start'; step: number }
  | { kind: 'retry'; step: number; attempt: number }
  | { kind: 'context'; step: number; attempt: number }
  | { kind: 'text'; step: number; attempt: number; start: number; end: number }
  /** Live usage after attempt a's text reached `offset`: sent only to a client exactly there. */
  | { kind: 'usage'; step: number; attempt: number; offset: number }
  /**
   * A tool call's start (mark 1), progress (1+p) or end (FINISHED). An end with `output`: the call
   * streamed that much output in that attempt, which a client must have before the end.
   */
  | { kind: 'tool'; step: number; call: number; calls: number; mark: number; output?: { attempt: number; length: number } }
  /** Streamed output of a tool call: [start, end) of that attempt's output. */
  | { kind: 'tool-output'; step: number; call: number; calls: number; attempt: number; start: number; end: number }
  | { kind: 'step-done'; step: number }
  | { kind: 'run-end' };

export type Cursor =
  | { at: 'beginning' }
  | { at: 'run-start' }
  | { at: 'step-start'; step: number }
  | { at: 'context'; step: number; attempt: number }
  | { at: 'text'; step: number; attempt: number; offset: number }
  /** outputs[call]: how much of which attempt's output the client has (absent: none). */
  | { at: 'tools'; step: number; marks: number[]; outputs?: Array<ToolOutputMark | undefined> }
  | { at: 'step-done'; step: number }
  | { at: 'run-end' };

export interface ToolOutputMark {
  attempt: number;
  offset: number;
}

export const beginning: Cursor = { at: 'beginning' };

function formatCall(mark: number, output: ToolOutputMark | undefined): string {
  if (mark === FINISHED) return 'd';
  return output ? `${mark}~${output.attempt}~${output.offset}` : String(mark);
}

export function formatCursor(cursor: Cursor): string {
  switch (cursor.at) {
    case 'beginning':
      return '';
    case 'run-start':
      return '0.0.0';
    case 'step-start':
      return `${cursor.step}.0.0`;
    case 'context':
      return `${cursor.step}.${cursor.attempt}.c`;
    case 'text':
      return `${cursor.step}.${cursor.attempt}.${cursor.offset}`;
    case 'tools':
      return `${cursor.step}.t.${cursor.marks.map((mark, call) => formatCall(mark, cursor.outputs?.[call])).join('-')}`;
    case 'step-done':
      return `${cursor.step}.done`;
    case 'run-end':
      return 'done';
  }
}

const count = /^(0|[1-9]\d{0,8})$/;
const maxToolCalls = 1000;
/** One call of a tools id: `d`, or a mark with an optional ~attempt~offset of its output. */
const callMark = /^(?:d|(0|[1-9]\d{0,8})(?:~([1-9]\d{0,8})~(0|[1-9]\d{0,8}))?)$/;

/** Parses an SSE id of this protocol; undefined for anything else. */
export function parseCursor(id: string): Cursor | undefined {
  if (id === 'done') return { at: 'run-end' };
  const parts = id.split('.');
  const step = parts[0] !== undefined && count.test(parts[0]) ? Number(parts[0]) : undefined;
  if (step === undefined) return undefined;
  if (parts.length === 2 && parts[1] === 'done' && step > 0) return { at: 'step-done', step };
  if (parts.length !== 3) return undefined;
  if (parts[1] === 't' && step > 0) {
    const calls = parts[2]!.split('-');
    if (calls.length > maxToolCalls) return undefined;
    const marks: number[] = [];
    const outputs: Array<ToolOutputMark | undefined> = [];
    for (const text of calls) {
      const match = callMark.exec(text);
      if (!match) return undefined;
      const mark = match[1] === undefined ? FINISHED : Number(match[1]);
      // Output comes only after the call's start.
      if (match[2] !== undefined && mark === 0) return undefined;
      marks.push(mark);
      outputs.push(match[2] === undefined ? undefined : { attempt: Number(match[2]), offset: Number(match[3]) });
    }
    return outputs.some(Boolean) ? { at: 'tools', step, marks, outputs } : { at: 'tools', step, marks };
  }
  if (parts[2] === 'c' && step > 0 && count.test(parts[1]!) && Number(parts[1]) > 0) return { at: 'context', step, attempt: Number(parts[1]) };
  if (!count.test(parts[1]!) || !count.test(parts[2]!)) return undefined;
  const attempt = Number(parts[1]);
  const offset = Number(parts[2]);
  if (step === 0) return attempt === 0 && offset === 0 ? { at: 'run-start' } : undefined;
  if (attempt === 0) return offset === 0 ? { at: 'step-start', step } : undefined;
  return { at: 'text', step, attempt, offset };
}

/** The step a cursor is in, and whether it is at that step's start (0), inside (1) or end (2). */
function place(cursor: Cursor): [step: number, phase: number] {
  switch (cursor.at) {
    case 'beginning':
      return [-1, 2];
    case 'run-start':
      return [0, 2];
    case 'step-start':
      return [cursor.step, 0];
    case 'context':
    case 'text':
    case 'tools':
      return [cursor.step, 1];
    case 'step-done':
      return [cursor.step, 2];
    case 'run-end':
      return [FINISHED, 0];
  }
}

export type Acceptance =
  /** The client already has it. */
  | { kind: 'old' }
  /** Something comes between the cursor and this event; it must wait. */
  | { kind: 'gap' }
  /** It comes next: send it (text cut to `skip` characters in), then the cursor becomes `next`. */
  | { kind: 'next'; next: Cursor; skip: number };

const old: Acceptance = { kind: 'old' };
const gap: Acceptance = { kind: 'gap' };
const next = (cursor: Cursor, skip = 0): Acceptance => ({ kind: 'next', next: cursor, skip });

/** Decides whether an event at `position` comes right after `cursor`. */
export function accept(cursor: Cursor, position: EventPosition): Acceptance {
  const [step, phase] = place(cursor);
  switch (position.kind) {
    case 'run-start':
      return cursor.at === 'beginning' ? next({ at: 'run-start' }) : old;
    case 'run-end':
      return cursor.at === 'run-end' ? old : next({ at: 'run-end' });
    case 'step-start': {
      const s = position.step;
      if (step >= s) return old;
      const previousDone = s === 1 ? cursor.at === 'run-start' : step === s - 1 && phase === 2;
      return previousDone ? next({ at: 'step-start', step: s }) : gap;
    }
    case 'step-done': {
      const s = position.step;
      if (step > s || (step === s && phase === 2)) return old;
      return step === s ? next({ at: 'step-done', step: s }) : gap;
    }
    case 'retry': {
      const { step: s, attempt } = position;
      if (step > s || (step === s && phase === 2)) return old;
      if (step < s) return gap;
      if ((cursor.at === 'text' || cursor.at === 'context') && cursor.attempt >= attempt) return old;
      return next({ at: 'text', step: s, attempt, offset: 0 });
    }
    case 'context': {
      // Before any text of its attempt: after the step's start (attempt 1) or the attempt's retry.
      const { step: s, attempt } = position;
      if (step > s || (step === s && phase === 2)) return old;
      if (step < s) return gap;
      if (cursor.at === 'step-start') return attempt === 1 ? next({ at: 'context', step: s, attempt }) : gap;
      if (cursor.at === 'context') return cursor.attempt >= attempt ? old : gap;
      if (cursor.at !== 'text') return gap;
      if (cursor.attempt > attempt || (cursor.attempt === attempt && cursor.offset > 0)) return old;
      return cursor.attempt === attempt ? next({ at: 'context', step: s, attempt }) : gap;
    }
    case 'text': {
      const { step: s, attempt, start, end } = position;
      if (step > s || (step === s && phase === 2)) return old;
      if (step < s) return gap;
      const attemptNow = cursor.at === 'text' || cursor.at === 'context' ? cursor.attempt : 1;
      const offsetNow = cursor.at === 'text' ? cursor.offset : 0;
      if (cursor.at !== 'text' && cursor.at !== 'step-start' && cursor.at !== 'context') return gap;
      if (attemptNow > attempt) return old;
      if (attemptNow < attempt) return gap;
      if (end <= offsetNow) return old;
      if (start > offsetNow) return gap;
      return next({ at: 'text', step: s, attempt, offset: end }, offsetNow - start);
    }
    case 'usage': {
      // An estimate of the moment: sent to a client that has exactly the text it counted (its id
      // is the client's, unchanged); one that is further on has a newer one coming, or the exact
      // count at step.completed; one that lacks text waits for it.
      const { step: s, attempt, offset } = position;
      if (step > s || (step === s && phase === 2)) return old;
      if (step < s) return gap;
      const attemptNow = cursor.at === 'text' || cursor.at === 'context' ? cursor.attempt : cursor.at === 'step-start' ? 1 : undefined;
      if (attemptNow === undefined || attemptNow > attempt) return old;
      if (attemptNow < attempt) return gap;
      const offsetNow = cursor.at === 'text' ? cursor.offset : 0;
      if (offsetNow > offset) return old;
      return offsetNow < offset ? gap : next(cursor);
    }
    case 'tool': {
      const { step: s, call, calls, mark } = position;
      if (step > s || (step === s && phase === 2)) return old;
      if (step < s) return gap;
      if (cursor.at !== 'tools' && cursor.at !== 'step-start') return gap;
      const { marks, outputs } = toolMarks(cursor, calls);
      const current = marks[call] ?? 0;
      if (mark <= current) return old;
      if (mark > 1 && current === 0) return gap;
      // A call's end comes after all of its final attempt's output (a later attempt's output
      // replaces an earlier one's; an attempt after the recorded one cannot be behind).
      const output = position.output;
      if (mark === FINISHED && output && output.length > 0) {
        const have = outputs[call];
        const attemptNow = have?.attempt ?? 0;
        if (attemptNow < output.attempt || (attemptNow === output.attempt && have!.offset < output.length)) return gap;
      }
      marks[call] = mark;
      if (mark === FINISHED) outputs[call] = undefined;
      return next(toolsCursor(s, marks, outputs));
    }
    case 'tool-output': {
      const { step: s, call, calls, attempt, start, end } = position;
      if (step > s || (step === s && phase === 2)) return old;
      if (step < s) return gap;
      if (cursor.at !== 'tools' && cursor.at !== 'step-start') return gap;
      const { marks, outputs } = toolMarks(cursor, calls);
      const current = marks[call] ?? 0;
      if (current === FINISHED) return old;
      if (current === 0) return gap;
      const have = outputs[call];
      const attemptNow = have?.attempt ?? 0;
      if (attemptNow > attempt) return old;
      // A new attempt's output starts over: its first delta comes next, any other waits for it.
      const offsetNow = attemptNow === attempt ? have!.offset : 0;
      if (end <= offsetNow && attemptNow === attempt) return old;
      if (start > offsetNow) return gap;
      outputs[call] = { attempt, offset: end };
      return next(toolsCursor(s, marks, outputs), offsetNow - start);
    }
  }
}

/** The per-call marks and outputs of a tools cursor (copies), or fresh ones at the step's start. */
function toolMarks(cursor: Cursor, calls: number): { marks: number[]; outputs: Array<ToolOutputMark | undefined> } {
  if (cursor.at === 'tools' && cursor.marks.length === calls) {
    return { marks: [...cursor.marks], outputs: cursor.outputs ? [...cursor.outputs] : new Array<ToolOutputMark | undefined>(calls) };
  }
  return { marks: new Array<number>(calls).fill(0), outputs: new Array<ToolOutputMark | undefined>(calls) };
}

function toolsCursor(step: number, marks: number[], outputs: Array<ToolOutputMark | undefined>): Cursor {
  return outputs.some(Boolean) ? { at: 'tools', step, marks, outputs } : { at: 'tools', step, marks };
}

/** A short label of where a publisher got to, for heartbeat details (the stream's cursor). */
export function positionLabel(position: EventPosition): string {
  switch (position.kind) {
    case 'run-start':
      return '0.0.0';
    case 'step-start':
      return `${position.step}.0.0`;
    case 'retry':
      return `${position.step}.${position.attempt}.0`;
    case 'context':
      return `${position.step}.${position.attempt}.c`;
    case 'text':
      return `${position.step}.${position.attempt}.${position.end}`;
    case 'usage':
      // Not the text's own label: the remote relay drops an event whose label it has seen.
      return `${position.step}.${position.attempt}.${position.offset}.u`;
    case 'tool':
      return `${position.step}.t.${position.call}:${position.mark === FINISHED ? 'd' : position.mark}`;
    case 'tool-output':
      return `${position.step}.t.${position.call}:o${position.attempt}~${position.end}`;
    case 'step-done':
      return `${position.step}.done`;
    case 'run-end':
      return 'done';
  }
}
