import type http from 'node:http';
import OpenAI, { APIConnectionError, APIConnectionTimeoutError, APIError, APIUserAbortError } from 'openai';
import { keepAliveAgent, ssePost, type SseErrors } from './models/sse-post';

// The streaming chat completion request, over node:http with a callback SSE parser
// (models/sse-post.ts: about 1 ms of CPU per 100-token step against the `openai` client's 7 ms).
// It keeps the client's contract, so failures are mapped as before: the same URL, body and key;
// an HTTP error status becomes APIError.generate(...), an error chunk an APIError, a socket error
// an APIConnectionError, the timeout (until the response's headers, as the client's) an
// APIConnectionTimeoutError, an abort an APIUserAbortError. Non-streamed calls stay with the client.

export interface ModelStreamConfig {
  baseURL: string;
  apiKey: string;
  timeoutMs: number;
}

type Completion = OpenAI.Chat.ChatCompletion;

const openAiErrors: SseErrors = {
  aborted: () => new APIUserAbortError(),
  timedOut: () => new APIConnectionTimeoutError(),
  connection: (cause, cutOff) => new APIConnectionError(cutOff ? { message: 'Connection error: the response was cut off.', cause } : { cause }),
  status: (status, json, text, headers) => APIError.generate(status, json, json ? undefined : text, headers),
};

export class ModelStream {
  private readonly url: URL;
  private readonly agent: http.Agent;

  constructor(private readonly config: ModelStreamConfig) {
    // Joined as the client joins them: a base URL with or without a trailing slash.
    this.url = new URL(config.baseURL + (config.baseURL.endsWith('/') ? 'chat/completions' : '/chat/completions'));
    this.agent = keepAliveAgent(this.url);
  }

  /**
   * Posts `body` (a request with `stream: true`) and hands each parsed chunk to `onChunk` as it
   * arrives, synchronously. Resolves when the stream ends: with undefined, or with the whole
   * completion when the endpoint ignored `stream: true` and answered JSON.
   */
  chatCompletion(body: object, onChunk: (chunk: unknown) => void, signal?: AbortSignal): Promise<Completion | undefined> {
    let done = false;
    const headers = { Authorization: `Bearer ${this.config.apiKey}`, 'Content-Type': 'application/json', Accept: 'text/event-stream' };
    const request = { url: this.url, agent: this.agent, headers, body: JSON.stringify(body), timeoutMs: this.config.timeoutMs, signal };
    // `data:` lines as JSON chunks until [DONE], as the client's Stream reads them; without [DONE]
    // the stream ends quietly, as the client's does.
    const completion = ssePost(
      request,
      (event, responseHeaders) => {
        if (done) return;
        if (event.data.startsWith('[DONE]')) {
          done = true;
          return;
        }
        const chunk = JSON.parse(event.data) as { error?: object } | null;
        if (chunk?.error) throw new APIError(undefined, chunk.error, undefined, responseHeaders());
        onChunk(chunk);
      },
      openAiErrors,
    );
    return completion as Promise<Completion | undefined>;
  }
}
