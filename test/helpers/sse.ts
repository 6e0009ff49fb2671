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
 * A key that grows along one stream: step, then start < body < end, then attempt and offset
 * (text) or the sum of the calls' marks (tools; finished counts as 1e6).
 */
export function orderKey(id: string): number[] {
  if (id === 'done') return [Infinity];
  const [step, middle, last] = id.split('.');
  if (middle === 'done') return [Number(step), 2];
  if (middle === 't') return [Number(step), 1, 0, last!.split('-').reduce((sum, mark) => sum + (mark === 'd' ? 1e6 : Number(mark)), 0)];
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
  for (let i = 1; i < events.length; i++) {
    if (compare(orderKey(events[i - 1]!.id), orderKey(events[i]!.id)) >= 0) {
      throw new Error(`ids must increase: ${events[i - 1]!.id} then ${events[i]!.id}`);
    }
  }
}
