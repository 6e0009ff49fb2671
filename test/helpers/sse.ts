// A small SSE reader over fetch, for tests: it records every event with its id and arrival time.

export interface ReceivedEvent {
  id: string;
  event: string;
  data: any;
  at: number;
}

export interface SseReadOptions {
  headers?: Record<string, string>;
  /** Stop (disconnect) once this returns true for a received event. */
  until?: (event: ReceivedEvent, all: ReceivedEvent[]) => boolean;
  signal?: AbortSignal;
}

export interface SseResult {
  events: ReceivedEvent[];
  status: number;
  headers: Headers;
  comments: string[];
  /** The connection broke (server gone) before the stream ended. */
  broken?: Error;
}

export async function readSse(url: string, options: SseReadOptions = {}): Promise<SseResult> {
  const controller = new AbortController();
  options.signal?.addEventListener('abort', () => controller.abort());
  const response = await fetch(url, { headers: { accept: 'text/event-stream', ...options.headers }, signal: controller.signal });
  const events: ReceivedEvent[] = [];
  const comments: string[] = [];
  if (!response.ok || !response.body) return { events, status: response.status, headers: response.headers, comments };
  const decoder = new TextDecoder();
  let buffer = '';
  try {
    for await (const bytes of response.body) {
      buffer += decoder.decode(bytes as Uint8Array, { stream: true });
      let boundary: number;
      while ((boundary = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, boundary);
        buffer = buffer.slice(boundary + 2);
        const fields: Record<string, string> = {};
        for (const line of block.split('\n')) {
          if (line.startsWith(':')) comments.push(line.slice(1).trim());
          const colon = line.indexOf(':');
          if (colon > 0) fields[line.slice(0, colon)] = line.slice(colon + 1).replace(/^ /, '');
        }
        if (fields.event === undefined) continue;
        const event = { id: fields.id ?? '', event: fields.event, data: JSON.parse(fields.data ?? 'null'), at: Date.now() };
        events.push(event);
        if (options.until?.(event, events)) {
          controller.abort();
          return { events, status: response.status, headers: response.headers, comments };
        }
      }
    }
  } catch (error) {
    if (!controller.signal.aborted) return { events, status: response.status, headers: response.headers, comments, broken: error as Error };
  }
  return { events, status: response.status, headers: response.headers, comments };
}

/** The text a client assembles: deltas, minus the partial text of steps it was told to discard. */
export function assembleText(events: ReceivedEvent[]): Map<number, string> {
  const byStep = new Map<number, string>();
  for (const event of events) {
    if (event.event === 'step.retrying') byStep.set(event.data.step, '');
    if (event.event === 'text.delta') byStep.set(event.data.step, (byStep.get(event.data.step) ?? '') + event.data.delta);
  }
  return byStep;
}

/**
 * The output a client assembles per call id: deltas of one attempt; a later attempt's replace an
 * earlier one's, and a call that ended in a later attempt than its output's streamed none in it.
 */
export function assembleToolOutput(events: ReceivedEvent[]): Map<string, string> {
  const calls = new Map<string, { attempt: number; text: string }>();
  for (const event of events) {
    const { callId } = event.data ?? {};
    if (event.event === 'tool.output.delta') {
      const call = calls.get(callId);
      if (!call || call.attempt !== event.data.attempt) calls.set(callId, { attempt: event.data.attempt, text: event.data.delta });
      else call.text += event.data.delta;
    }
    if ((event.event === 'tool.completed' || event.event === 'tool.failed') && calls.has(callId) && calls.get(callId)!.attempt !== event.data.attempts) {
      calls.set(callId, { attempt: event.data.attempts, text: '' });
    }
  }
  return new Map([...calls].map(([callId, call]) => [callId, call.text]));
}

/**
 * A key that grows along one stream: step, then start < body < end, then attempt and offset
 * (text) or the sums of the calls' marks (finished counts as 1e6), output attempts and offsets.
 */
export function orderKey(id: string): number[] {
  if (id === 'done') return [Infinity];
  const [step, middle, last] = id.split('.');
  if (middle === 'done') return [Number(step), 2];
  if (middle === 't') {
    // Per call: the mark, then (streamed output) ~attempt~offset; a finished call drops its output.
    const calls = last!.split('-').map((call) => call.split('~').map((part) => (part === 'd' ? 1e6 : Number(part))));
    const sum = (index: number) => calls.reduce((total, call) => total + (call[index] ?? 0), 0);
    return [Number(step), 1, 0, sum(0), sum(1), sum(2)];
  }
  if (middle === '0') return [Number(step), 0];
  // context.trimmed comes after its attempt's retry (offset 0) and before its text.
  if (last === 'c') return [Number(step), 1, Number(middle), 0.5];
  return [Number(step), 1, Number(middle), Number(last)];
}

export function assertIncreasingIds(events: ReceivedEvent[]): void {
  const compare = (a: number[], b: number[]) => {
    for (let i = 0; i < Math.max(a.length, b.length); i++) {
      const x = a[i] ?? -1;
      const y = b[i] ?? -1;
      if (x !== y) return x < y ? -1 : 1;
    }
    return 0;
  };
  // usage.updated names no place of its own: it carries the id of the event before it.
  for (let i = 1; i < events.length; i++) {
    if (events[i]!.event === 'usage.updated' && events[i]!.id !== events[i - 1]!.id) {
      throw new Error(`usage.updated must repeat the id before it: ${events[i - 1]!.id} then ${events[i]!.id}`);
    }
  }
  const placed = events.filter((event) => event.event !== 'usage.updated');
  for (let i = 1; i < placed.length; i++) {
    if (compare(orderKey(placed[i - 1]!.id), orderKey(placed[i]!.id)) >= 0) {
      throw new Error(`ids must increase: ${placed[i - 1]!.id} then ${placed[i]!.id}`);
    }
  }
}
