import { condition, defineSignal, proxyActivities, setHandler } from '@temporalio/workflow';
import { WorkflowStream } from '@temporalio/workflow-streams/workflow';
import type * as activities from './activities';

// One model call whose tokens go out through a WorkflowStream; the workflow stays open until the
// reader has everything (the stream's log is gone when the workflow closes).

export const readSignal = defineSignal('read');
const { streamTokens } = proxyActivities<typeof activities>({ startToCloseTimeout: '5 minutes', heartbeatTimeout: '30 seconds' });

export async function streamedTurn(input: { prompt: string; baseURL: string }): Promise<string> {
  const stream = new WorkflowStream();
  let read = false;
  setHandler(readSignal, () => void (read = true));
  const text = await streamTokens(input);
  stream.topic<{ done: true }>('done').publish({ done: true });
  await condition(() => read, '30 seconds');
  return text;
}
