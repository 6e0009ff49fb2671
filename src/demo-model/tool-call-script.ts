import { textFrames, toolCallFrames } from './chunks';
import type { ChatRequest, Reply } from './server';

// A model for tool tests and benchmarks: the user input is JSON {"calls": [{name, arguments}]}; the model asks
// for exactly those calls, then answers with the tool results it got, in order.

export function toolScript(request: ChatRequest): Reply {
  const fast = { firstTokenDelayMs: 0, tokenDelayMs: 0 };
  const userIndex = request.messages.findLastIndex((message) => message.role === 'user');
  const results = request.messages.slice(userIndex + 1).filter((message) => message.role === 'tool');
  if (results.length > 0) {
    return { kind: 'stream', frames: textFrames(request.model, `results: ${results.map((message) => message.content).join(' | ')}`, fast) };
  }
  const { calls } = JSON.parse(request.messages[userIndex]!.content ?? '{}') as { calls: Array<{ name: string; arguments: unknown }> };
  return {
    kind: 'stream',
    frames: toolCallFrames(
      request.model,
      calls.map((call, index) => ({ id: `call_${index}`, name: call.name, arguments: JSON.stringify(call.arguments) })),
      fast,
    ),
  };
}

export const toolCallScriptInput = (...calls: Array<[name: string, arguments: unknown]>) =>
  JSON.stringify({ calls: calls.map(([name, args]) => ({ name, arguments: args })) });
