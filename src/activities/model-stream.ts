import http from 'node:http';
import https from 'node:https';
import { createParser } from 'eventsource-parser';
import OpenAI, { APIConnectionError, APIConnectionTimeoutError, APIError, APIUserAbortError } from 'openai';

// The streaming chat completion request, over node:http with a callback SSE parser. The `openai`
// client's streaming path (undici fetch, web streams, an async-generator SSE decoder: a promise
// chain per chunk, each paying for the AsyncLocalStorage that Temporal installs) measured about
// 7 ms of CPU per 100-token step; this path about 1 ms (issue 11). It keeps the client's
// contract, so llm-step maps failures as before: the same URL, body and key; an HTTP error
// status becomes APIError.generate(...), an error chunk an APIError, a socket error an
// APIConnectionError, the timeout (until the response's headers, as the client's) an
// APIConnectionTimeoutError, an abort an APIUserAbortError. Non-streamed calls stay with the client.

export interface ModelStreamConfig {
  baseURL: string;
  apiKey: string;
  timeoutMs: number;
}

type Completion = OpenAI.Chat.ChatCompletion;

export class ModelStream {
  private readonly url: URL;
  private readonly agent: http.Agent;

  constructor(private readonly config: ModelStreamConfig) {
    // Joined as the client joins them: a base URL with or without a trailing slash.
    this.url = new URL(config.baseURL + (config.baseURL.endsWith('/') ? 'chat/completions' : '/chat/completions'));
    this.agent = this.url.protocol === 'https:' ? new https.Agent({ keepAlive: true }) : new http.Agent({ keepAlive: true });
  }

  /**
   * Posts `body` (a request with `stream: true`) and hands each parsed chunk to `onChunk` as it
   * arrives, synchronously. Resolves when the stream ends: with undefined, or with the whole
   * completion when the endpoint ignored `stream: true` and answered JSON.
   */
  chatCompletion(body: object, onChunk: (chunk: unknown) => void, signal?: AbortSignal): Promise<Completion | undefined> {
    if (signal?.aborted) return Promise.reject(new APIUserAbortError());
    const payload = JSON.stringify(body);
    return new Promise((resolve, reject) => {
      let settled = false;
      const finish = (error: unknown, completion?: Completion) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        if (error === undefined) return resolve(completion);
        request.destroy();
        reject(error);
      };
      const onAbort = () => finish(new APIUserAbortError());
      const transport = this.url.protocol === 'https:' ? https : http;
      const request = transport.request(
        this.url,
        {
          method: 'POST',
          agent: this.agent,
          headers: {
            Authorization: `Bearer ${this.config.apiKey}`,
            'Content-Type': 'application/json',
            Accept: 'text/event-stream',
            'Content-Length': Buffer.byteLength(payload),
          },
        },
        (response) => {
          clearTimeout(timer);
          response.setEncoding('utf8');
          const cutOff = (cause?: Error) => finish(new APIConnectionError({ message: 'Connection error: the response was cut off.', cause }));
          response.on('error', cutOff);
          // After 'end' this does nothing; before it, the connection closed mid-response.
          response.on('close', () => cutOff());
          const status = response.statusCode ?? 0;
          if (status >= 200 && status < 300 && !(response.headers['content-type'] ?? '').includes('application/json')) {
            readEvents(response, onChunk, finish);
          } else {
            readWhole(response, status, finish);
          }
        },
      );
      const timer = setTimeout(() => finish(new APIConnectionTimeoutError()), this.config.timeoutMs);
      signal?.addEventListener('abort', onAbort, { once: true });
      request.on('error', (error) => finish(new APIConnectionError({ cause: error })));
      request.end(payload);
    });
  }
}

type Finish = (error: unknown, completion?: Completion) => void;

/** An SSE body: `data:` lines as JSON chunks until [DONE], as the client's Stream reads them. */
function readEvents(response: http.IncomingMessage, onChunk: (chunk: unknown) => void, finish: Finish) {
  let done = false;
  const parser = createParser({
    onEvent(event) {
      if (done) return;
      if (event.data.startsWith('[DONE]')) {
        done = true;
        return;
      }
      const chunk = JSON.parse(event.data) as { error?: object } | null;
      if (chunk?.error) throw new APIError(undefined, chunk.error, undefined, headersOf(response));
      onChunk(chunk);
    },
  });
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
  // Without [DONE] too: the client ends such a stream quietly.
  response.on('end', () => finish(undefined));
}

/** An error status (mapped as the client maps it), or a whole JSON completion. */
function readWhole(response: http.IncomingMessage, status: number, finish: Finish) {
  let text = '';
  response.on('data', (part: string) => (text += part));
  response.on('end', () => {
    try {
      if (status >= 200 && status < 300) return finish(undefined, JSON.parse(text) as Completion);
      const json = safeJson(text);
      finish(APIError.generate(status, json, json ? undefined : text, headersOf(response)));
    } catch (error) {
      finish(error);
    }
  });
}

function safeJson(text: string): object | undefined {
  try {
    return JSON.parse(text) as object;
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
