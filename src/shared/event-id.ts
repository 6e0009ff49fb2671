// Event ids are positions in a run, so any stream (live, late, resumed) names the same place
// with the same id whatever the chunking was:
//
//   run.started                      0.0.0
//   step.started   (step s)          s.0.0
//   step.retrying  (attempt a >= 2)  s.a.0
//   text.delta                       s.a.<offset after the delta, in UTF-16 code units of that attempt's text>
//   tool events    (n-th of step s)  s.1.<n>
//   step.completed                   s.done
//   run.completed / failed / cancelled   done
//
// Positions compare as tuples; "done" sorts after every number.

export type Position = readonly [step: number, attempt: number, offset: number];

const DONE = Number.POSITIVE_INFINITY;

export const runStartedId = '0.0.0';
export const runEndId = 'done';
export const stepStartedId = (step: number) => `${step}.0.0`;
export const retryingId = (step: number, attempt: number) => `${step}.${attempt}.0`;
export const textId = (step: number, attempt: number, offset: number) => `${step}.${attempt}.${offset}`;
export const toolEventId = (step: number, seq: number) => `${step}.1.${seq}`;
export const stepCompletedId = (step: number) => `${step}.done`;

/** The position before anything: a stream that starts here gets the whole run. */
export const beginning: Position = [-1, 0, 0];

const numberPart = /^(0|[1-9]\d{0,8})$/;

/** Parses an id; undefined when it is not one this protocol produces. */
export function parseEventId(id: string): Position | undefined {
  if (id === runEndId) return [DONE, 0, 0];
  const parts = id.split('.');
  if (parts.length === 2 && parts[1] === 'done' && numberPart.test(parts[0]!)) {
    return [Number(parts[0]), DONE, 0];
  }
  if (parts.length !== 3 || !parts.every((part) => numberPart.test(part))) return undefined;
  return [Number(parts[0]), Number(parts[1]), Number(parts[2])];
}

export function comparePositions(a: Position, b: Position): number {
  for (let i = 0; i < 3; i++) {
    if (a[i]! !== b[i]!) return a[i]! < b[i]! ? -1 : 1;
  }
  return 0;
}

export function positionOf(id: string): Position {
  const position = parseEventId(id);
  if (!position) throw new Error(`not an event id: ${id}`);
  return position;
}
