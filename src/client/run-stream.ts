import type { RunEvent } from '../shared/events';
import { ApiError, apiErrorOf } from './api-error';
import { reconnectDefaults, reconnectDelay, sleep, type ReconnectOptions } from './backoff';
import { segment, type Transport } from './http';
import { readMessages } from './sse-messages';

// A run's events as an async iterator that outlives connections: a dropped connection, a 5xx or
// a network error is followed by a new connection with Last-Event-ID after a backoff; an expired
// stream token is replaced. Ids are positions in the run, so the new connection continues exactly
// after the last event yielded: nothing is yielded twice, nothing is skipped.

export interface StreamRunOptions {
  /** Continue after this event id (a position saved earlier). */
  lastEventId?: string;
  /** `latest`: start at the live edge, not at the run's beginning (ignored once an id is known). */
  from?: 'latest';
  /** Read with this stream token (`?token=`) instead of the API key. */
  streamToken?: string;
  /** Stops the stream: the iterator throws the signal's reason. */
  signal?: AbortSignal;
  reconnect?: ReconnectOptions;
}

export interface StreamContext {
  transport: Transport;
  /** A fresh stream token for a run, when the one in use has expired (undefined: none can be had). */
  refreshToken?: (runId: string) => Promise<string>;
}

const terminal: ReadonlySet<string> = new Set(['run.completed', 'run.failed', 'run.cancelled']);
/** Worth another attempt: the API or a proxy in front of it is busy or not there yet. */
const retryable = (status: number) => status === 408 || status === 429 || status >= 500;

/** Data of an event that is not JSON: a broken server, not a broken connection; not retried. */
export class StreamDataError extends Error {
  override readonly name = 'StreamDataError';
}

export class RunEventStream implements AsyncIterable<RunEvent> {
  private lastId: string | undefined;
  private ended = false;

  constructor(
    private readonly context: StreamContext,
    readonly runId: string,
    private readonly options: StreamRunOptions = {},
  ) {
    this.lastId = options.lastEventId;
  }

  /** The id of the last event yielded: resume from it later with `lastEventId`. */
  get lastEventId(): string | undefined {
    return this.lastId;
  }

  /** The run's end was reached (a terminal event, or the API said there is nothing after the last id). */
  get done(): boolean {
    return this.ended;
  }

  [Symbol.asyncIterator](): AsyncGenerator<RunEvent> {
    return this.events();
  }

  private url(token: string | undefined): string {
    const from = this.lastId === undefined || this.lastId === '' ? this.options.from : undefined;
    return this.context.transport.url(`/v1/runs/${segment(this.runId)}/events`, { token, from });
  }

  private async *events(): AsyncGenerator<RunEvent> {
    const { transport } = this.context;
    const { signal } = this.options;
    const settings = { ...reconnectDefaults, ...definedOnly(this.options.reconnect) };
    let baseMs = settings.initialDelayMs;
    let failures = 0;
    let token = this.options.streamToken;
    let refreshed = false;
    let lastError: unknown;
    while (!this.ended) {
      // `done` is the run's end: nothing follows it.
      if (this.lastId === 'done') break;
      signal?.throwIfAborted();
      let retryAfterMs = 0;
      const connection = new AbortController();
      const stop = () => connection.abort(signal!.reason);
      signal?.addEventListener('abort', stop, { once: true });
      try {
        const headers = transport.headers({ accept: 'text/event-stream', ...(this.lastId ? { 'last-event-id': this.lastId } : {}) }, token === undefined);
        const response = await transport.fetch(this.url(token), { headers, signal: connection.signal });
        if (response.status === 204) break;
        if (!response.ok || !response.body) {
          const error = await apiErrorOf(response);
          if (error.status === 401 && error.code === 'invalid_stream_token' && token !== undefined && !refreshed && this.context.refreshToken) {
            token = await this.context.refreshToken(this.runId);
            refreshed = true;
            continue;
          }
          if (!retryable(error.status)) throw error;
          retryAfterMs = error.retryAfterMs ?? 0;
          lastError = error;
        } else {
          refreshed = false;
          const messages = readMessages(response.body, { onRetry: (ms) => (baseMs = ms), idleTimeoutMs: settings.idleTimeoutMs, onIdle: () => connection.abort(new Error('no event or keep-alive in time')) });
          for await (const message of messages) {
            if (message.id !== undefined) this.lastId = message.id;
            if (!message.event) continue;
            const event = { event: message.event, data: parseData(message.data), id: this.lastId ?? '' } as RunEvent;
            failures = 0;
            if (terminal.has(event.event)) this.ended = true;
            yield event;
            if (this.ended) return;
          }
          lastError = new Error('the stream ended before the run did');
        }
      } catch (error) {
        if (signal?.aborted) throw signal.reason;
        if (error instanceof ApiError || error instanceof StreamDataError) throw error;
        lastError = error;
      } finally {
        signal?.removeEventListener('abort', stop);
        connection.abort();
      }
      if (failures >= settings.maxRetries) throw lastError;
      await sleep(Math.max(retryAfterMs, reconnectDelay(baseMs, failures, settings.maxDelayMs)), signal);
      failures++;
    }
    this.ended = true;
  }
}

function parseData(data: string): unknown {
  try {
    return JSON.parse(data);
  } catch {
    throw new StreamDataError(`an event's data is not JSON: ${data.slice(0, 200)}`);
  }
}

function definedOnly<T extends object>(value: T | undefined): Partial<T> {
  return Object.fromEntries(Object.entries(value ?? {}).filter(([, entry]) => entry !== undefined)) as Partial<T>;
}
