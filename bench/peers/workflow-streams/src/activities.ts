import { Context } from '@temporalio/activity';
import { WorkflowStreamClient } from '@temporalio/workflow-streams/client';
import OpenAI from 'openai';

/** Reads the model's stream and publishes every delta to the workflow's stream (100 ms batches). */
export async function streamTokens(input: { prompt: string; baseURL: string }): Promise<string> {
  const openai = new OpenAI({ baseURL: input.baseURL, apiKey: 'unused', maxRetries: 0 });
  await using client = WorkflowStreamClient.fromWithinActivity({ batchInterval: '100 milliseconds' });
  const tokens = client.topic<{ text: string }>('tokens');
  const stream = await openai.chat.completions.create({ model: 'bench', messages: [{ role: 'user', content: input.prompt }], stream: true });
  let text = '';
  for await (const chunk of stream) {
    const delta = chunk.choices[0]?.delta.content;
    if (!delta) continue;
    text += delta;
    tokens.publish({ text: delta });
    Context.current().heartbeat();
  }
  return text;
}
