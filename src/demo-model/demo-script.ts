import { completionBody, textFrames, toolCallFrames, tokenize, type Pace, type ScriptedToolCall } from './chunks';
import type { ChatRequest, Reply, Responder } from './server';

// The built-in demo model. It is plainly canned: arithmetic goes to the `calculator` tool (one
// call per expression, all in one message), the results come back as a sentence, and anything
// else gets a fixed explanation. Enough to show streaming, tool calls and durability offline.

const expressionPattern = /[-(]*\d[\d\s.+\-*/%^()]*/g;
const hasOperator = /\d\s*\)*\s*[-+*/%^]\s*[-(]*\s*\d/;

export function findExpressions(text: string): string[] {
  return (text.match(expressionPattern) ?? [])
    .map((match) => match.trim().replace(/[-+*/%^(\s]+$/, ''))
    .filter((match) => hasOperator.test(match))
    .map(balanceParentheses);
}

function balanceParentheses(expression: string): string {
  let depth = 0;
  let out = '';
  for (const character of expression) {
    if (character === '(') depth++;
    if (character === ')') {
      if (depth === 0) continue;
      depth--;
    }
    out += character;
  }
  return out + ')'.repeat(depth);
}

function promptTokens(request: ChatRequest): number {
  const characters = request.messages.reduce((sum, message) => sum + (message.content?.length ?? 0), 0);
  return Math.ceil(characters / 4);
}

function lastUserIndex(request: ChatRequest): number {
  for (let i = request.messages.length - 1; i >= 0; i--) if (request.messages[i]!.role === 'user') return i;
  return -1;
}

function answerFromToolResults(request: ChatRequest, after: number): string {
  const expressions = new Map<string, string>();
  const lines: string[] = [];
  for (const message of request.messages.slice(after + 1)) {
    if (message.role === 'assistant') {
      for (const call of (message.tool_calls ?? []) as Array<{ id: string; function: { arguments: string } }>) {
        try {
          expressions.set(call.id, (JSON.parse(call.function.arguments) as { expression: string }).expression);
        } catch {
          expressions.set(call.id, call.function.arguments);
        }
      }
    }
    if (message.role === 'tool') {
      lines.push(`${expressions.get(message.tool_call_id ?? '') ?? '?'} = ${message.content}`);
    }
  }
  return lines.length === 1
    ? `I used the calculator: ${lines[0]}.`
    : `I used the calculator ${lines.length} times: ${lines.join("; ")}.`;
}

function cannedAnswer(input: string): string {
  const shown = input.length > 80 ? `${input.slice(0, 77)}...` : input;
  return (
    'This is the built-in demo model, so this answer is canned. Every word you read was streamed ' +
    'live from a Temporal activity, and the run survives a crash of the worker. Ask me some ' +
    `arithmetic, such as "what is 12*7 and (3+4)/2?", and I will call the calculator tool. You said: "${shown}"`
  );
}

export function demoReply(request: ChatRequest, pace: Pace): Reply {
  const model = request.model;
  const userIndex = lastUserIndex(request);
  const input = userIndex >= 0 ? (request.messages[userIndex]!.content ?? '') : '';
  const offersCalculator = (request.tools ?? []).some((tool) => tool.function.name === 'calculator');
  const toolResultsFollow = request.messages.slice(userIndex + 1).some((message) => message.role === 'tool');
  const prompt = promptTokens(request);

  let calls: ScriptedToolCall[] = [];
  let text = '';
  if (toolResultsFollow) text = answerFromToolResults(request, userIndex);
  else {
    const expressions = offersCalculator ? findExpressions(input) : [];
    if (expressions.length > 0) {
      calls = expressions.map((expression, index) => ({
        id: `call_${Date.now().toString(36)}_${index}`,
        name: 'calculator',
        arguments: JSON.stringify({ expression }),
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
