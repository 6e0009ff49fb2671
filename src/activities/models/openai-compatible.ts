import OpenAI, { APIConnectionError, APIError, APIUserAbortError } from 'openai';
import { ChunkAssembler, ModelStreamError, type ChunkLike } from '../chunk-assembler';
import { ModelStream } from '../model-stream';
import type { ModelErrorFacts, ModelMessage, ModelProvider, ModelRequest } from './provider';

// Any OpenAI-compatible Chat Completions endpoint: OpenAI, Ollama, vLLM, llama.cpp, the demo
// model. The stream goes over model-stream.ts (cheap per token); the `openai` client (its own
// retries off: Temporal retries) makes the plain call for endpoints that refuse to stream.

export interface OpenAiEndpoint {
  /** Unset: the client's default (OPENAI_BASE_URL, else OpenAI's). */
  baseURL?: string;
  apiKey?: string;
  timeoutMs: number;
}

const refusalStatuses = new Set([400, 404, 405, 415, 422, 501]);

/** True for an endpoint that says it cannot stream (or does not know stream_options). */
function refusesStreaming(error: unknown): boolean {
  return error instanceof APIError && refusalStatuses.has(error.status ?? 0) && /stream/i.test(error.message);
}

export class OpenAiCompatibleProvider implements ModelProvider {
  private readonly client: OpenAI;
  private readonly stream: ModelStream;

  constructor(endpoint: OpenAiEndpoint) {
    // Local servers (Ollama, vLLM, the demo model) take any key; the client insists on one.
    this.client = new OpenAI({ baseURL: endpoint.baseURL, apiKey: endpoint.apiKey ?? 'unused', maxRetries: 0, timeout: endpoint.timeoutMs });
    // The streamed request goes to the client's endpoint with its key and timeout, as it resolved them.
    this.stream = new ModelStream({ baseURL: this.client.baseURL, apiKey: this.client.apiKey ?? 'unused', timeoutMs: this.client.timeout });
  }

  async complete(request: ModelRequest, onText: (text: string) => void, signal: AbortSignal): Promise<ModelMessage> {
    const body = { model: request.model, messages: request.messages as OpenAI.Chat.ChatCompletionMessageParam[], ...(request.tools ? { tools: request.tools } : {}) };
    const assembler = new ChunkAssembler();
    let emitted = false;
    const onChunk = (chunk: unknown) => {
      const text = assembler.push(chunk as ChunkLike);
      if (text) {
        emitted = true;
        onText(text);
      }
    };
    let streamed = true;
    try {
      const completion = await this.stream.chatCompletion({ ...body, stream: true, stream_options: { include_usage: true } }, onChunk, signal);
      if (completion) {
        // The endpoint ignored `stream: true` and answered with a whole completion.
        streamed = false;
        const text = assembleCompletion(assembler, completion);
        if (text) onText(text);
      }
    } catch (error) {
      if (emitted || !refusesStreaming(error)) throw error;
      streamed = false;
      const completion = await this.client.chat.completions.create({ ...body, stream: false }, { signal });
      const text = assembleCompletion(assembler, completion);
      if (text) onText(text);
    }
    return { ...assembler.result(request.callId), streamed };
  }

  describe(error: unknown): ModelErrorFacts {
    if (error instanceof APIUserAbortError) return { aborted: true, message: 'model call aborted' };
    const message = error instanceof Error ? error.message : String(error);
    if (error instanceof ModelStreamError) return { message, status: error.status, type: error.type };
    if (!(error instanceof APIError)) return { message };
    // An error chunk mid-stream has no HTTP status; servers such as vLLM put it in `code`.
    const code = Number(error.code);
    return {
      message,
      status: error.status ?? (code >= 400 && code < 600 ? code : undefined),
      type: error.type,
      code: error.code ?? undefined,
      connection: error instanceof APIConnectionError,
    };
  }
}

/** Feeds a non-streamed completion through the assembler as one chunk; returns its text. */
function assembleCompletion(assembler: ChunkAssembler, completion: OpenAI.Chat.ChatCompletion): string {
  const choice = completion.choices?.[0];
  return assembler.push({
    choices: choice
      ? [
          {
            index: 0,
            delta: {
              content: choice.message?.content ?? null,
              tool_calls: (choice.message?.tool_calls ?? []).map((call, index) => ({
                index,
                id: call.id,
                type: call.type,
                function: 'function' in call ? call.function : undefined,
              })),
            },
            finish_reason: choice.finish_reason,
          },
        ]
      : [],
    usage: completion.usage ?? null,
  });
}
