import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { loadConfig } from '../../src/config';
import { textFrames } from '../../src/demo-model/chunks';
import { startModelServer } from '../../src/demo-model/server';
import { startStack, type Stack } from '../../src/stack';
import type { DevServer } from '../../src/temporal/dev-server';

/**
 * The worker and the API against a dev server started as npm start starts it, with a model that
 * streams `text` at the given pace. Returns what to close, in order.
 */
export async function startStackOnDevServer(server: DevServer, taskQueue: string, text: string, pace: { firstTokenDelayMs: number; tokenDelayMs: number }): Promise<{ stack: Stack; client: Client; cleanups: Array<() => Promise<unknown>> }> {
  const model = await startModelServer((request) => ({ kind: 'stream', frames: textFrames(request.model, text, pace) }));
  const connection = await Connection.connect({ address: server.address });
  const nativeConnection = await NativeConnection.connect({ address: server.address });
  const config = loadConfig({});
  const client = new Client({ connection });
  const stack: Stack = await startStack({
    client,
    nativeConnection,
    namespace: 'default',
    taskQueue,
    model: { ...config.model, baseURL: model.baseURL, name: 'scripted', useDemo: false },
    limits: config.limits,
    toolSettings: config.tools,
    temporalUiUrl: server.uiUrl,
  });
  return { stack, client, cleanups: [() => model.close(), () => connection.close(), () => nativeConnection.close(), () => stack.stop()] };
}
