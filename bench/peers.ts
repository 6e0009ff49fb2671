import { Context } from '@temporalio/activity';
import OpenAI from 'openai';
import type { LiveRelay } from '../src/relay/live-relay';
import type { LlmStepInput, LlmStepResult } from '../src/shared/run-types';

// Peer implementations of the model step, for the benchmarks only. Each replaces `llmStep` on a
// worker of its own task queue; everything else (workflow, API) stays the same.

async function readWholeStream(openai: OpenAI, input: LlmStepInput, onText?: (text: string) => void): Promise<string> {
  const stream = await openai.chat.completions.create(
    { model: input.model, messages: input.messages as OpenAI.Chat.ChatCompletionMessageParam[], stream: true },
    { signal: Context.current().cancellationSignal },
  );
  let text = '';
  for await (const chunk of stream) {
    const delta = chunk.choices[0]?.delta.content;
    if (delta) {
      text += delta;
      onText?.(text);
    }
  }
  return text;
}

/**
 * "Blocking then replayed": the activity waits for the whole response, then sends the text
 * character by character (the approach streaming agents replace).
 */
export function blockingLlmStep(relay: LiveRelay, baseURL: string) {
  const openai = new OpenAI({ baseURL, apiKey: 'unused', maxRetries: 0 });
  return async (input: LlmStepInput): Promise<LlmStepResult> => {
    const { runId, step } = input;
    const stream = relay.openStream(runId, `llm:${step}`);
    stream.publish({ position: { kind: 'step-start', step }, event: 'step.started', data: { runId, step, kind: 'llm' } });
    const text = await readWholeStream(openai, input);
    for (let offset = 0; offset < text.length; offset++) {
      stream.publish({
        position: { kind: 'text', step, attempt: 1, start: offset, end: offset + 1 },
        event: 'text.delta',
        data: { runId, step, attempt: 1, delta: text[offset]! },
      });
    }
    stream.close();
    return { text, toolCalls: [], finishReason: 'stop', attempt: 1, streamed: true };
  };
}

/** "Heartbeat-details polling": the text so far rides on the heartbeat; readers poll describe(). */
export function heartbeatLlmStep(baseURL: string) {
  const openai = new OpenAI({ baseURL, apiKey: 'unused', maxRetries: 0 });
  return async (input: LlmStepInput): Promise<LlmStepResult> => {
    const context = Context.current();
    const text = await readWholeStream(openai, input, (soFar) => context.heartbeat({ text: soFar }));
    return { text, toolCalls: [], finishReason: 'stop', attempt: 1, streamed: true };
  };
}
