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
//   tool events of a tools step          s.t.<mark of call 1>-<mark of call 2>-...
//   step.completed                       s.done
//   run.completed / failed / cancelled   done
//
// The tool calls of a step run in parallel and finish in any order, so a tools-step id records,
// per call, how far the client got: 0 nothing, 1 started, 1+p progress update p, d finished.

export const FINISHED = Number.POSITIVE_INFINITY;

/** What an event is, structurally; the SSE id follows from it and the client's cursor. */
export type EventPosition =
  | { kind: 'run-start' }
  | { kind: 'step-start'; step: number }
  | { kind: 'retry'; step: number; attempt: number }
  | { kind: 'context'; step: number; attempt: number }
  | { kind: 'text'; step: number; attempt: number; start: number; end: number }
  | { kind: 'tool'; step: number; call: number; calls: number; mark: number }
  | { kind: 'step-done'; step: number }
  | { kind: 'run-end' };

export type Cursor =
  | { at: 'beginning' }
  | { at: 'run-start' }
  | { at: 'step-start'; step: number }
  | { at: 'context'; step: number; attempt: number }
  | { at: 'text'; step: number; attempt: number; offset: number }
  | { at: 'tools'; step: number; marks: number[] }
  | { at: 'step-done'; step: number }
  | { at: 'run-end' };

export const beginning: Cursor = { at: 'beginning' };

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
      return `${cursor.step}.t.${cursor.marks.map((mark) => (mark === FINISHED ? 'd' : String(mark))).join('-')}`;
    case 'step-done':
      return `${cursor.step}.done`;
    case 'run-end':
      return 'done';
  }
}

const count = /^(0|[1-9]\d{0,8})$/;
const maxToolCalls = 1000;

/** Parses an SSE id of this protocol; undefined for anything else. */
export function parseCursor(id: string): Cursor | undefined {
  if (id === 'done') return { at: 'run-end' };
  const parts = id.split('.');
  const step = parts[0] !== undefined && count.test(parts[0]) ? Number(parts[0]) : undefined;
  if (step === undefined) return undefined;
  if (parts.length === 2 && parts[1] === 'done' && step > 0) return { at: 'step-done', step };
  if (parts.length !== 3) return undefined;
  if (parts[1] === 't' && step > 0) {
    const marks = parts[2]!.split('-');
    if (marks.length > maxToolCalls || !marks.every((mark) => mark === 'd' || count.test(mark))) return undefined;
    return { at: 'tools', step, marks: marks.map((mark) => (mark === 'd' ? FINISHED : Number(mark))) };
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
    case 'tool': {
      const { step: s, call, calls, mark } = position;
      if (step > s || (step === s && phase === 2)) return old;
      if (step < s) return gap;
      if (cursor.at !== 'tools' && cursor.at !== 'step-start') return gap;
      const marks = cursor.at === 'tools' && cursor.marks.length === calls ? [...cursor.marks] : new Array<number>(calls).fill(0);
      const current = marks[call] ?? 0;
      if (mark <= current) return old;
      if (mark > 1 && current === 0) return gap;
      marks[call] = mark;
      return next({ at: 'tools', step: s, marks });
    }
  }
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
    case 'tool':
      return `${position.step}.t.${position.call}:${position.mark === FINISHED ? 'd' : position.mark}`;
    case 'step-done':
      return `${position.step}.done`;
    case 'run-end':
      return 'done';
  }
}
