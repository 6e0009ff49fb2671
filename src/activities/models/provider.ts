import type { ChatMessage, ToolCall, Usage } from '../../shared/run-types';
import type { OpenAiToolSpec } from '../tools/registry';

// What llmStep needs from a model provider, whatever its wire format: one streamed message, and
// what its errors mean. The conversation and the tools are in the Chat Completions format the
// rest of the system uses; a provider with another format converts them (anthropic-messages.ts).

export interface ModelRequest {
  /** The model's own name (the reference's provider prefix and endpoint removed). */
  model: string;
  messages: ChatMessage[];
  tools?: OpenAiToolSpec[];
  /** An id for a tool call the model sent without one (by its position in the message). */
  callId: (position: number) => string;
}

export interface ModelMessage {
  text: string;
  toolCalls: ToolCall[];
  usage?: Usage;
  /** In the Chat Completions terms: stop, tool_calls, length, content_filter (or the provider's own word). */
  finishReason: string;
  /** False when the endpoint answered without streaming. */
  streamed: boolean;
}

/** What went wrong, in the terms the failure mapping (failures.ts) decides on. */
export interface ModelErrorFacts {
  message: string;
  /** The HTTP status, or the one an error event mid-stream stands for. */
  status?: number;
  /** The provider's error type (`invalid_request_error`, `overloaded_error`, …). */
  type?: string;
  /** The provider's error code (`context_length_exceeded`, …). */
  code?: string;
  /** The connection failed, timed out or was cut off: retrying can help. */
  connection?: boolean;
  /** Our own abort (cancellation), not the provider's failure. */
  aborted?: boolean;
  /** Set when the provider knows better than the status whether retrying can help. */
  permanent?: boolean;
}

export interface ModelProvider {
  /**
   * Streams one model message. Each text fragment goes to `onText` synchronously as its chunk is
   * parsed (no promise per token); `signal` aborts the request at once.
   */
  complete(request: ModelRequest, onText: (text: string) => void, signal: AbortSignal): Promise<ModelMessage>;
  /** What an error thrown by `complete` means. */
  describe(error: unknown): ModelErrorFacts;
}
