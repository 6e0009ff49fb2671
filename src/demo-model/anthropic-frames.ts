import type { AnthropicFrame } from './anthropic-server';
import { tokenize } from './chunks';

// Builders for Messages API stream events in Anthropic's own shape: message_start, a ping,
// content blocks (text in text_delta pieces, tool_use with its input in input_json_delta
// fragments), message_delta with the stop reason and usage, message_stop.

let sequence = 0;

export interface ScriptedToolUse {
  id: string;
  name: string;
  /** The input as JSON text; streamed in pieces. */
  input: string;
}

export interface AnthropicUsage {
  input_tokens: number;
  output_tokens: number;
}

const frame = (event: string, data: Record<string, unknown>): AnthropicFrame => ({ event, data: { type: event, ...data } });

export function messageStart(model: string, inputTokens = 0): AnthropicFrame {
  return frame('message_start', {
    message: {
      id: `msg_scripted_${++sequence}`,
      type: 'message',
      role: 'assistant',
      model,
      content: [],
      stop_reason: null,
      stop_sequence: null,
      usage: { input_tokens: inputTokens, output_tokens: 1, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 },
    },
  });
}

export function messageEnd(stopReason: string, outputTokens: number): AnthropicFrame[] {
  return [frame('message_delta', { delta: { stop_reason: stopReason, stop_sequence: null }, usage: { output_tokens: outputTokens } }), frame('message_stop', {})];
}

/** A text block at `index`, one text_delta per word-sized token. */
export function textBlock(index: number, text: string, delayMs = 0): AnthropicFrame[] {
  const frames: AnthropicFrame[] = [frame('content_block_start', { index, content_block: { type: 'text', text: '' } })];
  for (const token of tokenize(text)) {
    if (delayMs > 0) frames.push({ delayMs });
    frames.push(frame('content_block_delta', { index, delta: { type: 'text_delta', text: token } }));
  }
  frames.push(frame('content_block_stop', { index }));
  return frames;
}

/** A tool_use block at `index`: empty input first, then the JSON in three fragments. */
export function toolUseBlock(index: number, call: ScriptedToolUse): AnthropicFrame[] {
  const third = Math.ceil(call.input.length / 3);
  const pieces = [call.input.slice(0, third), call.input.slice(third, 2 * third), call.input.slice(2 * third)];
  return [
    frame('content_block_start', { index, content_block: { type: 'tool_use', id: call.id, name: call.name, input: {} } }),
    ...pieces.map((piece) => frame('content_block_delta', { index, delta: { type: 'input_json_delta', partial_json: piece } })),
    frame('content_block_stop', { index }),
  ];
}

/** A whole answer in text. */
export function anthropicTextFrames(model: string, text: string, usage: AnthropicUsage = { input_tokens: 10, output_tokens: tokenize(text).length }, delayMs = 0): AnthropicFrame[] {
  return [messageStart(model, usage.input_tokens), frame('ping', {}), ...textBlock(0, text, delayMs), ...messageEnd('end_turn', usage.output_tokens)];
}

/** Some text, then tool calls, as Claude asks for tools. */
export function anthropicToolFrames(model: string, preamble: string, calls: ScriptedToolUse[], usage: AnthropicUsage = { input_tokens: 10, output_tokens: 20 }): AnthropicFrame[] {
  const blocks = preamble ? [textBlock(0, preamble)] : [];
  calls.forEach((call) => blocks.push(toolUseBlock(blocks.length, call)));
  return [messageStart(model, usage.input_tokens), ...blocks.flat(), ...messageEnd('tool_use', usage.output_tokens)];
}

/** An `event: error` as the API sends it mid-stream (overloaded_error, api_error, …). */
export function anthropicErrorFrame(type: string, message: string): AnthropicFrame {
  return { event: 'error', data: { type: 'error', error: { type, message } } };
}

/** An error body as the API answers a failed request. */
export function anthropicErrorBody(type: string, message: string) {
  return { type: 'error', error: { type, message }, request_id: `req_scripted_${++sequence}` };
}
