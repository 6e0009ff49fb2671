import type { ToolCall, Usage } from '../../shared/run-types';

// Assembles a Messages API stream (message_start, content_block_start/delta/stop, message_delta,
// message_stop) into the message the rest of the system uses: text from text_delta, tool calls
// from tool_use blocks whose input arrives as input_json_delta fragments, usage from
// message_start and message_delta, and the stop reason in Chat Completions terms. Thinking and
// signature deltas, citations and unknown events are not text.

interface UsageLike {
  input_tokens?: number | null;
  output_tokens?: number | null;
  cache_creation_input_tokens?: number | null;
  cache_read_input_tokens?: number | null;
}

interface BlockLike {
  type?: string;
  id?: string;
  name?: string;
  text?: string;
  input?: unknown;
}

/** A stream event, or a whole message (an endpoint that answered without streaming). */
export interface AnthropicEventLike {
  type?: string;
  index?: number;
  delta?: { type?: string; text?: string; partial_json?: string; stop_reason?: string | null };
  content_block?: BlockLike;
  message?: { usage?: UsageLike; stop_reason?: string | null };
  usage?: UsageLike;
  content?: BlockLike[];
  stop_reason?: string | null;
}

/** Stop reasons in the words the Chat Completions format (and so this system) uses. */
export const finishReasons: Record<string, string> = {
  end_turn: 'stop',
  stop_sequence: 'stop',
  tool_use: 'tool_calls',
  max_tokens: 'length',
  model_context_window_exceeded: 'length',
  // Server tools paused a long turn: the answer is not finished, as when tokens run out.
  pause_turn: 'length',
  refusal: 'content_filter',
};

interface PartialCall {
  id: string;
  name: string;
  json: string;
  input: unknown;
}

export class AnthropicAssembler {
  private text = '';
  private readonly calls = new Map<number, PartialCall>();
  private promptTokens?: number;
  private completionTokens?: number;
  private stopReason?: string;
  /** message_stop arrived (or a stop reason): the message is whole. */
  ended = false;

  /** Takes one event; returns the text it adds (to publish at once), or '' if none. */
  push(event: AnthropicEventLike): string {
    const type = event.type;
    if (type === 'content_block_delta') {
      const delta = event.delta;
      if (delta?.type === 'text_delta' && delta.text) {
        this.text += delta.text;
        return delta.text;
      }
      if (delta?.type === 'input_json_delta' && typeof delta.partial_json === 'string') {
        const call = this.calls.get(event.index ?? -1);
        if (call) call.json += delta.partial_json;
      }
      return '';
    }
    if (type === 'content_block_start') return this.startBlock(event.index ?? this.calls.size, event.content_block);
    if (type === 'message_start') this.addUsage(event.message?.usage);
    else if (type === 'message_delta') {
      this.addUsage(event.usage);
      if (event.delta?.stop_reason) this.stop(event.delta.stop_reason);
    } else if (type === 'message_stop') this.ended = true;
    else if (type === 'message') return this.pushMessage(event);
    return '';
  }

  private startBlock(index: number, block: BlockLike | undefined): string {
    if (block?.type === 'tool_use') this.calls.set(index, { id: block.id ?? '', name: block.name ?? '', json: '', input: block.input });
    if (block?.type === 'text' && block.text) {
      this.text += block.text;
      return block.text;
    }
    return '';
  }

  /** A whole message: its blocks in order, as a stream would have brought them. */
  private pushMessage(message: AnthropicEventLike): string {
    let added = '';
    (message.content ?? []).forEach((block, index) => (added += this.startBlock(index, block)));
    this.addUsage(message.usage);
    if (message.stop_reason) this.stop(message.stop_reason);
    this.ended = true;
    return added;
  }

  private stop(reason: string) {
    this.stopReason = reason;
    this.ended = true;
  }

  private addUsage(usage: UsageLike | undefined) {
    if (!usage) return;
    if (typeof usage.input_tokens === 'number') {
      // Tokens read from or written to the prompt cache were sent too.
      this.promptTokens = usage.input_tokens + (usage.cache_creation_input_tokens ?? 0) + (usage.cache_read_input_tokens ?? 0);
    }
    if (typeof usage.output_tokens === 'number') this.completionTokens = usage.output_tokens;
  }

  get textSoFar(): string {
    return this.text;
  }

  result(fallbackId: (position: number) => string): { text: string; toolCalls: ToolCall[]; usage?: Usage; finishReason: string } {
    const toolCalls = [...this.calls.entries()]
      .sort(([a], [b]) => a - b)
      .filter(([, call]) => call.name)
      .map(([, call], position) => ({ id: call.id || fallbackId(position), name: call.name, arguments: argumentsOf(call) }));
    const usage =
      this.promptTokens === undefined && this.completionTokens === undefined
        ? undefined
        : { promptTokens: this.promptTokens ?? 0, completionTokens: this.completionTokens ?? 0, totalTokens: (this.promptTokens ?? 0) + (this.completionTokens ?? 0) };
    // Trust the presence of tool calls over the stop reason, as for the Chat Completions stream.
    const finishReason = toolCalls.length > 0 ? 'tool_calls' : this.stopReason ? (finishReasons[this.stopReason] ?? this.stopReason) : 'unknown';
    return { text: this.text, toolCalls, ...(usage ? { usage } : {}), finishReason };
  }
}

/** The input as JSON text: the streamed fragments, else the block's own input (a whole message). */
function argumentsOf(call: PartialCall): string {
  if (call.json.trim() !== '') return call.json;
  const input = call.input;
  return typeof input === 'object' && input !== null && Object.keys(input).length > 0 ? JSON.stringify(input) : '{}';
}
