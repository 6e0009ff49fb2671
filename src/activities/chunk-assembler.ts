import type { ToolCall, Usage } from '../shared/run-types';

// Assembles a streamed chat completion from its chunks, tolerating the ways "OpenAI-compatible"
// servers differ (see docs/architecture.md): tool-call fragments keyed by index when present,
// else by id, else by order; several calls sharing one index but not one id; whole arguments in
// one fragment; tool calls with finish_reason "stop"; usage chunks asked for or not (or riding on
// the last choice chunk); reasoning fields; unknown fields; and error chunks, nested under `error`
// (OpenAI, newer vLLM) or at the top level with `object: "error"` (older vLLM).

/** A chunk; older vLLM's error chunks have the error's fields at the top level (`object: "error"`). */
export interface ChunkLike extends StreamErrorLike {
  choices?: Array<{
    index?: number;
    delta?: {
      content?: string | null;
      reasoning_content?: string | null;
      reasoning?: string | null;
      tool_calls?: Array<{
        index?: number;
        id?: string | null;
        type?: string;
        function?: { name?: string | null; arguments?: string | null };
      }> | null;
    } | null;
    finish_reason?: string | null;
  }> | null;
  usage?: { prompt_tokens?: number; completion_tokens?: number; total_tokens?: number } | null;
  error?: StreamErrorLike;
  object?: string;
}

interface StreamErrorLike {
  message?: string;
  type?: string;
  code?: string | number | null;
}

export class ModelStreamError extends Error {
  constructor(
    message: string,
    readonly status: number | undefined,
    readonly type: string | undefined,
  ) {
    super(message);
    this.name = 'ModelStreamError';
  }
}

interface PartialCall {
  index?: number;
  id?: string;
  name: string;
  arguments: string;
}

export interface AssembledMessage {
  text: string;
  reasoning: string;
  toolCalls: ToolCall[];
  usage?: Usage;
  finishReason: string;
}

export class ChunkAssembler {
  private text = '';
  private reasoning = '';
  private readonly calls: PartialCall[] = [];
  private usage?: Usage;
  private finishReason?: string;

  /** The text assembled so far. */
  get textSoFar(): string {
    return this.text;
  }

  /** Takes one chunk; returns the text it adds (to publish at once), or '' if none. */
  push(chunk: ChunkLike): string {
    if (chunk.error || chunk.object === 'error') {
      const error = chunk.error ?? chunk;
      const code = error.code;
      const status = typeof code === 'number' ? code : /^\d{3}$/.test(String(code)) ? Number(code) : undefined;
      throw new ModelStreamError(error.message ?? 'model stream error', status, error.type);
    }
    if (chunk.usage && typeof chunk.usage.prompt_tokens === 'number') {
      const promptTokens = chunk.usage.prompt_tokens;
      const completionTokens = chunk.usage.completion_tokens ?? 0;
      this.usage = { promptTokens, completionTokens, totalTokens: chunk.usage.total_tokens ?? promptTokens + completionTokens };
    }
    let added = '';
    for (const choice of chunk.choices ?? []) {
      if ((choice.index ?? 0) !== 0) continue;
      const delta = choice.delta ?? {};
      if (typeof delta.content === 'string' && delta.content) {
        this.text += delta.content;
        added += delta.content;
      }
      const thinking = delta.reasoning_content ?? delta.reasoning;
      if (typeof thinking === 'string') this.reasoning += thinking;
      for (const fragment of delta.tool_calls ?? []) this.addFragment(fragment);
      if (choice.finish_reason) this.finishReason = choice.finish_reason;
    }
    return added;
  }

  private addFragment(fragment: NonNullable<NonNullable<NonNullable<ChunkLike['choices']>[number]['delta']>['tool_calls']>[number]) {
    const id = fragment.id || undefined;
    let call: PartialCall | undefined;
    if (typeof fragment.index === 'number') {
      // The latest call with this index, unless the fragment names a different call (Ollama: all index 0).
      call = this.calls.findLast((candidate) => candidate.index === fragment.index);
      if (call && id && call.id && call.id !== id) call = undefined;
    } else if (id) {
      call = this.calls.find((candidate) => candidate.id === id);
    } else {
      call = this.calls.at(-1);
    }
    if (!call) {
      call = { index: fragment.index, id, name: '', arguments: '' };
      this.calls.push(call);
    }
    if (id && !call.id) call.id = id;
    const name = fragment.function?.name;
    if (name && !call.name) call.name = name;
    const argumentsPart = fragment.function?.arguments;
    if (typeof argumentsPart === 'string') call.arguments += argumentsPart;
  }

  result(fallbackId: (position: number) => string): AssembledMessage {
    const toolCalls = this.calls
      .filter((call) => call.name)
      .map((call, position) => ({
        id: call.id ?? fallbackId(position),
        name: call.name,
        arguments: call.arguments.trim() === '' ? '{}' : call.arguments,
      }));
    // Trust the presence of tool calls over finish_reason.
    const finishReason = toolCalls.length > 0 ? 'tool_calls' : (this.finishReason ?? 'unknown');
    return { text: this.text, reasoning: this.reasoning, toolCalls, usage: this.usage, finishReason };
  }
}
