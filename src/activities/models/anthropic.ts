import type http from 'node:http';
import Anthropic, { APIConnectionError, APIConnectionTimeoutError, APIError, APIUserAbortError } from '@anthropic-ai/sdk';
import { AnthropicAssembler, type AnthropicEventLike } from './anthropic-assembler';
import { toAnthropicMessages, toAnthropicTools } from './anthropic-messages';
import type { ModelErrorFacts, ModelMessage, ModelProvider, ModelRequest } from './provider';
import { keepAliveAgent, safeJson, ssePost, type SseErrors } from './sse-post';

// Claude through the Messages API. The official SDK builds each request (URL, auth, API version,
// body), so its conventions are the ones followed; the stream itself goes over sse-post.ts, one
// synchronous call per event, because the SDK's Stream is an async-generator chain (a promise
// per event and more). Failures keep the SDK's error classes, so the mapping reads them as the
// SDK's users would. Its own retries are off: Temporal retries.

export interface AnthropicEndpoint {
  baseURL: string;
  apiKey?: string;
  timeoutMs: number;
  /** max_tokens of every request: the Messages API requires one. */
  maxTokens: number;
}

const anthropicErrors: SseErrors = {
  aborted: () => new APIUserAbortError(),
  timedOut: () => new APIConnectionTimeoutError(),
  connection: (cause, cutOff) => new APIConnectionError({ message: cutOff ? 'Connection error: the response was cut off.' : undefined, cause }),
  status: (status, json, text, headers) => APIError.generate(status, json, json ? undefined : text, headers),
};

// An `event: error` mid-stream has no HTTP status, only its type: these retrying cannot help.
const permanentTypes = new Set(['invalid_request_error', 'authentication_error', 'permission_error', 'not_found_error', 'request_too_large', 'billing_error']);

export class AnthropicProvider implements ModelProvider {
  private readonly client: Anthropic;
  private agent?: http.Agent;

  constructor(private readonly endpoint: AnthropicEndpoint) {
    // Everything explicit: the SDK would otherwise read ANTHROPIC_* variables and credential files,
    // and could send a credential to an endpoint it was not meant for.
    this.client = new Anthropic({ apiKey: endpoint.apiKey ?? 'unused', authToken: null, baseURL: endpoint.baseURL, maxRetries: 0, timeout: endpoint.timeoutMs });
  }

  async complete(request: ModelRequest, onText: (text: string) => void, signal: AbortSignal): Promise<ModelMessage> {
    const { system, messages } = toAnthropicMessages(request.messages);
    const body = {
      model: request.model,
      max_tokens: this.endpoint.maxTokens,
      ...(system ? { system } : {}),
      messages,
      ...(request.tools ? { tools: toAnthropicTools(request.tools) } : {}),
      stream: true,
    };
    const built = await this.client.buildRequest({ method: 'post', path: '/v1/messages', body, stream: true, headers: { accept: 'text/event-stream' } });
    const url = new URL(built.url);
    this.agent ??= keepAliveAgent(url);
    const headers: Record<string, string> = {};
    new Headers(built.req.headers as ConstructorParameters<typeof Headers>[0]).forEach((value, name) => (headers[name] = value));
    const assembler = new AnthropicAssembler();
    const onEvent = (event: { event?: string; data: string }, responseHeaders: () => Headers) => {
      if (event.event === 'error') {
        const error = safeJson(event.data) as { error?: { type?: string } } | undefined;
        // As the SDK's own Stream does: no status, the body and its error type.
        throw new APIError(undefined, error, error ? undefined : event.data, responseHeaders(), (error?.error?.type as APIError['type']) ?? null);
      }
      if (event.event === 'ping') return;
      const text = assembler.push(JSON.parse(event.data) as AnthropicEventLike);
      if (text) onText(text);
    };
    const whole = await ssePost({ url, agent: this.agent, headers, body: built.req.body as string, timeoutMs: this.endpoint.timeoutMs, signal }, onEvent, anthropicErrors);
    if (whole) {
      // An endpoint (a proxy) that answered with the whole message instead of a stream.
      const text = assembler.push({ ...(whole as AnthropicEventLike), type: 'message' });
      if (text) onText(text);
      return { ...assembler.result(request.callId), streamed: false };
    }
    // The API always ends with message_stop; a stream that stops before it was cut off on the way.
    if (!assembler.ended && !signal.aborted) throw new APIConnectionError({ message: 'Connection error: the stream ended before the message did.' });
    return { ...assembler.result(request.callId), streamed: true };
  }

  describe(error: unknown): ModelErrorFacts {
    if (error instanceof APIUserAbortError) return { aborted: true, message: 'model call aborted' };
    if (!(error instanceof APIError)) return { message: error instanceof Error ? error.message : String(error) };
    if (error instanceof APIConnectionError) return { message: error.message, connection: true };
    const type = error.type ?? undefined;
    // The API's own words, not the SDK's rendering of the whole body.
    const message = error.apiMessage ? `${type ? `${type}: ` : ''}${error.apiMessage}` : error.message;
    return {
      message,
      status: error.status,
      type,
      ...(error.errorCode ? { code: error.errorCode } : {}),
      ...(error.status === undefined ? { permanent: type !== undefined && permanentTypes.has(type) } : {}),
    };
  }
}
