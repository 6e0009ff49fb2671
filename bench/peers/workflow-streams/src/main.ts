// Runs the Workflow Streams peer: a worker, then RUNS runs read by a WorkflowStreamClient
// subscriber. Prints one JSON line per run: {prompt, started, deltas: [{text, at}]}, with times
// from performance.timeOrigin + performance.now() (the same clock as the benchmark's model server).
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { WorkflowStreamClient } from '@temporalio/workflow-streams/client';
import * as activities from './activities';
import { readSignal, streamedTurn } from './workflows';

const now = () => performance.timeOrigin + performance.now();
const address = process.env.TEMPORAL_ADDRESS!;
const baseURL = process.env.MODEL_BASE_URL!;
const prompts = (process.env.PROMPTS ?? '').split(',').filter(Boolean);
Runtime.install({ logger: new DefaultLogger('WARN') });

const taskQueue = `workflow-streams-${randomUUID()}`;
const nativeConnection = await NativeConnection.connect({ address });
const worker = await Worker.create({
  connection: nativeConnection,
  taskQueue,
  workflowsPath: fileURLToPath(new URL('./workflows.ts', import.meta.url)),
  activities,
});
const running = worker.run();
const connection = await Connection.connect({ address });
const client = new Client({ connection });

for (const prompt of prompts) {
  const workflowId = `wfs-${randomUUID()}`;
  const started = now();
  const handle = await client.workflow.start(streamedTurn, { workflowId, taskQueue, args: [{ prompt, baseURL }] });
  const deltas: Array<{ text: string; at: number }> = [];
  const subscriber = WorkflowStreamClient.create(client, workflowId);
  for await (const item of subscriber.subscribe(['tokens', 'done'], 0)) {
    if (item.topic === 'done') break;
    const { text } = (await import('@temporalio/common')).defaultPayloadConverter.fromPayload<{ text: string }>(item.data);
    deltas.push({ text, at: now() });
  }
  await handle.signal(readSignal);
  await handle.result();
  console.log(JSON.stringify({ prompt, started, deltas }));
}
worker.shutdown();
await running;
await connection.close();
await nativeConnection.close();
