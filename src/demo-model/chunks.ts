import type { Frame } from './server';

// Builders for chat.completion.chunk objects in OpenAI's own shape.

export interface ScriptedToolCall {
  id: string;
  name: string;
  arguments: string;
}

export interface Pace {
  /** Delay before the first content frame (the model "thinking"). */
  firstTokenDelayMs: number;
  /** Delay between content frames. */
  tokenDelayMs: number;
}

export const noDelay: Pace = { firstTokenDelayMs: 0, tokenDelayMs: 0 };

let sequence = 0;

export function chunk(model: string, delta: Record<string, unknown>, finishReason: string | null = null, id?: string) {
  return {
    id: id ?? `chatcmpl-demo-${++sequence}`,
    object: 'chat.completion.chunk',
    created: Math.floor(Date.now() / 1000),
    model,
    choices: [{ index: 0, delta, logprobs: null, finish_reason: finishReason }],
    usage: null,
  };
}

export function usageChunk(model: string, usage: { prompt_tokens: number; completion_tokens: number }) {
  return {
    id: `chatcmpl-demo-${++sequence}`,
    object: 'chat.completion.chunk',
    created: Math.floor(Date.now() / 1000),
    model,
    choices: [],
    usage: { ...usage, total_tokens: usage.prompt_tokens + usage.completion_tokens },
  };
}

/** Splits text into word-sized tokens, keeping the whitespace, so joined they give the text back. */
export function tokenize(text: string): string[] {
  return text.match(/\s*\S+|\s+$/g) ?? [];
}

function paced(frames: Frame[][], pace: Pace): Frame[] {
  const out: Frame[] = [];
  frames.forEach((group, index) => {
    const delayMs = index === 0 ? pace.firstTokenDelayMs : pace.tokenDelayMs;
    if (delayMs > 0) out.push({ delayMs });
    out.push(...group);
  });
  return out;
}

export function textFrames(
  model: string,
  text: string,
  pace: Pace,
  usage = { prompt_tokens: 0, completion_tokens: tokenize(text).length },
): Frame[] {
  const groups: Frame[][] = [[{ chunk: chunk(model, { role: 'assistant', content: '' }) }]];
  for (const token of tokenize(text)) groups.push([{ chunk: chunk(model, { content: token }) }]);
  const frames = paced(groups, pace);
  frames.push({ chunk: chunk(model, {}, 'stop') }, { chunk: usageChunk(model, usage) });
  return frames;
}

/** Tool calls as OpenAI streams them: id, type and name first, then the arguments in pieces. */
export function toolCallFrames(model: string, calls: ScriptedToolCall[], pace: Pace, promptTokens = 0): Frame[] {
  const groups: Frame[][] = [[{ chunk: chunk(model, { role: 'assistant', content: null }) }]];
  calls.forEach((call, index) => {
    groups.push([
      {
        chunk: chunk(model, {
          tool_calls: [{ index, id: call.id, type: 'function', function: { name: call.name, arguments: '' } }],
        }),
      },
    ]);
    const middle = Math.ceil(call.arguments.length / 2);
    for (const piece of [call.arguments.slice(0, middle), call.arguments.slice(middle)]) {
      if (piece) groups.push([{ chunk: chunk(model, { tool_calls: [{ index, function: { arguments: piece } }] }) }]);
    }
  });
  const frames = paced(groups, pace);
  frames.push(
    { chunk: chunk(model, {}, 'tool_calls') },
    { chunk: usageChunk(model, { prompt_tokens: promptTokens, completion_tokens: calls.length * 10 }) },
  );
  return frames;
}

export function completionBody(model: string, message: Record<string, unknown>, finishReason: string, usage: { prompt_tokens: number; completion_tokens: number }) {
  return {
    id: `chatcmpl-demo-${++sequence}`,
    object: 'chat.completion',
    created: Math.floor(Date.now() / 1000),
    model,
    choices: [{ index: 0, message: { role: 'assistant', ...message }, logprobs: null, finish_reason: finishReason }],
    usage: { ...usage, total_tokens: usage.prompt_tokens + usage.completion_tokens },
  };
}
