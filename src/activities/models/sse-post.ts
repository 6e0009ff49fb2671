import http from 'node:http';
import https from 'node:https';
import { createParser, type EventSourceMessage } from 'eventsource-parser';

// A POST whose answer is an SSE stream, over node:http with a callback SSE parser: each event is
// handed on synchronously as its bytes arrive. The SDKs' streaming paths (undici fetch, web
// streams, async-generator SSE decoders: a promise chain per event, each paying for the
// AsyncLocalStorage that Temporal installs) measured about 7 ms of CPU per 100-token step, this
// path about 1 ms (issue 11). Each provider keeps its SDK's error contract through `SseErrors`,
// so its failures are mapped as the SDK's own would be.

export interface SsePostRequest {
  url: URL;
  agent: http.Agent;
  headers: Record<string, string>;
  body: string;
  /** Until the response's headers, as the SDKs' timeouts. */
  timeoutMs: number;
  signal?: AbortSignal;
}

/** The provider SDK's error for each way a request fails. */
export interface SseErrors {
  aborted(): Error;
  timedOut(): Error;
  /** A socket error, or (cutOff) the connection closed before the response ended. */
  connection(cause: Error | undefined, cutOff: boolean): Error;
  /** An error status; `json` is the body parsed, when it is JSON. */
  status(status: number, json: object | undefined, text: string, headers: Headers): Error;
}

/** One SSE event; `headers` builds the response's headers, for an error to carry. */
export type OnEvent = (event: EventSourceMessage, headers: () => Headers) => void;

/** A keep-alive agent per endpoint: the protocol decides which module's. */
export const keepAliveAgent = (url: URL): http.Agent => (url.protocol === 'https:' ? new https.Agent({ keepAlive: true }) : new http.Agent({ keepAlive: true }));

/**
 * Resolves when the event stream ends (undefined), or with the parsed body when the endpoint
 * answered 2xx JSON instead of a stream. An error thrown by `onEvent` ends the request with it.
 */
export function ssePost(request: SsePostRequest, onEvent: OnEvent, errors: SseErrors): Promise<unknown> {
  const { signal } = request;
  if (signal?.aborted) return Promise.reject(errors.aborted());
  return new Promise((resolve, reject) => {
    let settled = false;
    const finish = (error: unknown, whole?: unknown) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      if (error === undefined) return resolve(whole);
      outgoing.destroy();
      reject(error);
    };
    const onAbort = () => finish(errors.aborted());
    const transport = request.url.protocol === 'https:' ? https : http;
    const outgoing = transport.request(
      request.url,
      { method: 'POST', agent: request.agent, headers: { ...request.headers, 'Content-Length': Buffer.byteLength(request.body) } },
      (response) => {
        clearTimeout(timer);
        response.setEncoding('utf8');
        const cutOff = (cause?: Error) => finish(errors.connection(cause, true));
        response.on('error', cutOff);
        // After 'end' this does nothing; before it, the connection closed mid-response.
        response.on('close', () => cutOff());
        const status = response.statusCode ?? 0;
        if (status >= 200 && status < 300 && !(response.headers['content-type'] ?? '').includes('application/json')) {
          readEvents(response, onEvent, finish);
        } else {
          readWhole(response, status, errors, finish);
        }
      },
    );
    const timer = setTimeout(() => finish(errors.timedOut()), request.timeoutMs);
    signal?.addEventListener('abort', onAbort, { once: true });
    outgoing.on('error', (error) => finish(errors.connection(error, false)));
    outgoing.end(request.body);
  });
}

type Finish = (error: unknown, whole?: unknown) => void;

function readEvents(response: http.IncomingMessage, onEvent: OnEvent, finish: Finish) {
  const headers = () => headersOf(response);
  const parser = createParser({ onEvent: (event) => onEvent(event, headers) });
  let failed = false;
  response.on('data', (part: string) => {
    if (failed) return;
    try {
      parser.feed(part);
    } catch (error) {
      failed = true;
      finish(error);
    }
  });
  response.on('end', () => finish(undefined));
}

/** An error status (as the SDK maps it), or a whole JSON answer. */
function readWhole(response: http.IncomingMessage, status: number, errors: SseErrors, finish: Finish) {
  let text = '';
  response.on('data', (part: string) => (text += part));
  response.on('end', () => {
    try {
      if (status >= 200 && status < 300) return finish(undefined, JSON.parse(text));
      finish(errors.status(status, safeJson(text), text, headersOf(response)));
    } catch (error) {
      finish(error);
    }
  });
}

export function safeJson(text: string): object | undefined {
  try {
    const value = JSON.parse(text) as unknown;
    return typeof value === 'object' && value !== null ? value : undefined;
  } catch {
    return undefined;
  }
}

function headersOf(response: http.IncomingMessage): Headers {
  const headers = new Headers();
  for (let index = 0; index + 1 < response.rawHeaders.length; index += 2) {
    headers.append(response.rawHeaders[index]!, response.rawHeaders[index + 1]!);
  }
  return headers;
}
