import { completionBody, textFrames, toolCallFrames, tokenize, type Pace, type ScriptedToolCall } from './chunks';
import { findExpressions } from './find-expressions';
import type { ChatRequest, Reply, Responder } from './server';

// The built-in demo model. It is plainly canned: arithmetic goes to the `calculator` tool (one
// call per expression, all in one message), the results come back as a sentence, and anything
// else gets a fixed explanation. Enough to show streaming, tool calls and durability offline.
// It often runs in the process that serves SSE, so it reads only the start of a message, and
// reads it in linear time (find-expressions.ts; the patterns below cannot backtrack far).

export { findExpressions };

/** How much of the last user message is read: a question for the demo fits many times over. */
export const maxParsedChars = 10_000;

function promptTokens(request: ChatRequest): number {
  const characters = request.messages.reduce((sum, message) => sum + (message.content?.length ?? 0), 0);
  return Math.ceil(characters / 4);
}

function lastUserIndex(request: ChatRequest): number {
  for (let i = request.messages.length - 1; i >= 0; i--) if (request.messages[i]!.role === 'user') return i;
  return -1;
}

const waitPattern = /\bwait(?:ing)?\s+(?:for\s+)?(\d+(?:\.\d+)?)\s*(?:s|secs?|seconds?)\b/gi;
const timePattern = /\b(what time|the time|current time|time is it)\b/i;
const zonePattern = /\bin\s+([A-Z][A-Za-z_]+\/[A-Za-z_]+(?:\/[A-Za-z_]+)?)/;

/** The calls the demo model makes for an input: arithmetic, waits and the time, all at once. */
export function plannedCalls(input: string, offered: Set<string>): Array<{ name: string; arguments: Record<string, unknown> }> {
  const calls: Array<{ name: string; arguments: Record<string, unknown> }> = [];
  if (offered.has('calculator')) for (const expression of findExpressions(input.replace(waitPattern, ''))) calls.push({ name: 'calculator', arguments: { expression } });
  if (offered.has('wait')) for (const match of input.matchAll(waitPattern)) calls.push({ name: 'wait', arguments: { seconds: Number(match[1]) } });
  if (offered.has('current_time') && timePattern.test(input)) {
    const zone = zonePattern.exec(input)?.[1];
    calls.push({ name: 'current_time', arguments: zone ? { timezone: zone } : {} });
  }
  return calls;
}

function describeResult(name: string, args: Record<string, unknown>, content: string): string {
  if (content.startsWith('Error:')) return `${name} failed (${content.slice(7)})`;
  if (name === 'calculator') return `${String(args.expression)} = ${content}`;
  if (name === 'wait') return `I waited ${String(args.seconds)} s`;
  if (name === 'current_time') {
    try {
      return `it is ${(JSON.parse(content) as { local: string }).local}`;
    } catch {
      return `it is ${content}`;
    }
  }
  return `${name} said ${content}`;
}

function answerFromToolResults(request: ChatRequest, after: number): string {
  const calls = new Map<string, { name: string; args: Record<string, unknown> }>();
  const lines: string[] = [];
  const names: string[] = [];
  for (const message of request.messages.slice(after + 1)) {
    if (message.role === 'assistant') {
      for (const call of (message.tool_calls ?? []) as Array<{ id: string; function: { name: string; arguments: string } }>) {
        let args: Record<string, unknown> = {};
        try {
          args = JSON.parse(call.function.arguments) as Record<string, unknown>;
        } catch {
          // shown as the tool's error anyway
        }
        calls.set(call.id, { name: call.function.name, args });
      }
    }
    if (message.role === 'tool') {
      const call = calls.get(message.tool_call_id ?? '') ?? { name: 'tool', args: {} };
      names.push(call.name);
      lines.push(describeResult(call.name, call.args, message.content ?? ''));
    }
  }
  if (names.every((name) => name === 'calculator')) {
    return lines.length === 1 ? `I used the calculator: ${lines[0]}.` : `I used the calculator ${lines.length} times: ${lines.join('; ')}.`;
  }
  return `I called ${lines.length} tools at once: ${lines.join('; ')}.`;
}

function cannedAnswer(input: string): string {
  const shown = input.length > 80 ? `${input.slice(0, 77)}...` : input;
  return (
    'This is the built-in demo model, so this answer is canned. Every word you read was streamed ' +
    'live from a Temporal activity, and the run survives a crash of the worker. Ask me some ' +
    'arithmetic, a wait or the time, such as "what is 12*7, wait 3 seconds and tell me the time in Asia/Tokyo", ' +
    `and I will call the tools for it, all at once. You said: "${shown}"`
  );
}

export function demoReply(request: ChatRequest, pace: Pace): Reply {
  const model = request.model;
  const userIndex = lastUserIndex(request);
  const input = userIndex >= 0 ? (request.messages[userIndex]!.content ?? '').slice(0, maxParsedChars) : '';
  const offered = new Set((request.tools ?? []).map((tool) => tool.function.name));
  const toolResultsFollow = request.messages.slice(userIndex + 1).some((message) => message.role === 'tool');
  const prompt = promptTokens(request);

  let calls: ScriptedToolCall[] = [];
  let text = '';
  if (toolResultsFollow) text = answerFromToolResults(request, userIndex);
  else {
    const planned = plannedCalls(input, offered);
    if (planned.length > 0) {
      calls = planned.map((call, index) => ({
        id: `call_${Date.now().toString(36)}_${index}`,
        name: call.name,
        arguments: JSON.stringify(call.arguments),
      }));
    } else text = cannedAnswer(input);
  }

  if (request.stream !== true) {
    const message =
      calls.length > 0
        ? {
            content: null,
            tool_calls: calls.map((call) => ({ id: call.id, type: 'function', function: { name: call.name, arguments: call.arguments } })),
          }
        : { content: text };
    return {
      kind: 'json',
      body: completionBody(model, message, calls.length > 0 ? 'tool_calls' : 'stop', {
        prompt_tokens: prompt,
        completion_tokens: calls.length > 0 ? calls.length * 10 : tokenize(text).length,
      }),
    };
  }
  const frames =
    calls.length > 0
      ? toolCallFrames(model, calls, pace, prompt)
      : textFrames(model, text, pace, { prompt_tokens: prompt, completion_tokens: tokenize(text).length });
  return { kind: 'stream', frames };
}

export const demoResponder =
  (pace: Pace): Responder =>
  (request) =>
    demoReply(request, pace);
