import { fileURLToPath, pathToFileURL } from 'node:url';
import { NativeConnection, Worker, bundleWorkflowCode, type WorkflowBundle } from '@temporalio/worker';
import { createActivities, type ActivityDependencies } from './activities';
import { loadConfig } from './config';
import { MemoryRelay } from './relay/memory-relay';
import { setUpTools } from './tool-setup';

// The worker runs agent-turn workflows and their activities, and hosts the live streams of the
// activities it runs. `npm start` runs it in the API's process; `npm run worker` alone.

export const workflowsPath = fileURLToPath(new URL('./workflows/index.ts', import.meta.url));

let bundle: Promise<WorkflowBundle> | undefined;
/** Bundles the workflow code once per process (webpack takes seconds). */
export function workflowBundle(): Promise<WorkflowBundle> {
  bundle ??= bundleWorkflowCode({ workflowsPath, logger: quietBundlerLogger });
  return bundle;
}

const quietBundlerLogger = {
  log: () => undefined,
  trace: () => undefined,
  debug: () => undefined,
  info: () => undefined,
  warn: (message: string) => console.warn(message),
  error: (message: string) => console.error(message),
};

export interface AgentWorkerOptions extends ActivityDependencies {
  connection: NativeConnection;
  namespace: string;
  taskQueue: string;
}

export async function createAgentWorker(options: AgentWorkerOptions): Promise<Worker> {
  return Worker.create({
    connection: options.connection,
    namespace: options.namespace,
    taskQueue: options.taskQueue,
    workflowBundle: await workflowBundle(),
    activities: createActivities(options),
    // Cancellation reaches an activity through its heartbeats: keep them frequent.
    maxHeartbeatThrottleInterval: '1 second',
    defaultHeartbeatThrottleInterval: '1 second',
    shutdownGraceTime: '5 seconds',
  });
}

async function main() {
  const config = loadConfig();
  if (!config.temporal.address) {
    throw new Error('npm run worker needs TEMPORAL_ADDRESS (a running Temporal); `npm start` runs everything in one process');
  }
  if (config.model.useDemo) {
    throw new Error('npm run worker needs OPENAI_BASE_URL (and OPENAI_API_KEY if the endpoint wants one)');
  }
  const tools = await setUpTools(config, (line) => console.log(line));
  const connection = await NativeConnection.connect({ address: config.temporal.address });
  const worker = await createAgentWorker({
    connection,
    namespace: config.temporal.namespace,
    taskQueue: config.temporal.taskQueue,
    relay: new MemoryRelay(),
    model: config.model,
    tools: tools.registry,
  });
  console.log(`worker polling task queue "${config.temporal.taskQueue}" on ${config.temporal.address}`);
  await worker.run();
  await connection.close();
  await tools.close();
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((error) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  });
}
