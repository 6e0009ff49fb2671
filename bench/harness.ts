import { Client } from '@temporalio/client';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { loadConfig } from '../src/config';
import { startModelServer, type ModelServer, type Responder } from '../src/demo-model/server';
import type { MemoryRelay } from '../src/relay/memory-relay';
import { startStack, type Stack, type StackOptions } from '../src/stack';
import { cliVersion, findTemporalCli } from '../src/temporal/cli';
import { dynamicConfigArgs } from '../src/temporal/dev-server';

// One embedded Temporal for a benchmark run, and stacks (worker + API) against local models.

Runtime.install({ logger: new DefaultLogger('WARN') });

export interface BenchTemporal {
  environment: TestWorkflowEnvironment;
  version: string;
  close(): Promise<void>;
}

export async function startBenchTemporal(): Promise<BenchTemporal> {
  const cli = await findTemporalCli();
  // The settings npm start gives its embedded server (BENCH_EAGER=0 measures without them).
  const extraArgs = process.env.BENCH_EAGER !== '0' ? dynamicConfigArgs() : [];
  const environment = await TestWorkflowEnvironment.createLocal(
    cli.kind === 'path' ? { server: { executable: { type: 'existing-path', path: cli.path }, ip: '127.0.0.1', extraArgs } } : { server: { extraArgs } },
  );
  return { environment, version: cli.kind === 'path' ? cliVersion(cli.path) : 'sdk download', close: () => environment.teardown() };
}

export interface BenchStack<Model extends Pick<ModelServer, 'baseURL' | 'close'> = ModelServer> {
  stack: Stack;
  model: Model;
  close(): Promise<void>;
}

/** A peer's activities, given the stack's relay and the model's base URL. */
export type PeerActivities = (relay: MemoryRelay, modelBaseURL: string) => Record<string, (...args: any[]) => Promise<unknown>>;

/** A stack against a model served in this process by `responder`. */
export async function startBenchStack(temporal: BenchTemporal, responder: Responder, taskQueue: string, overrides: Partial<StackOptions> = {}, peer?: PeerActivities): Promise<BenchStack> {
  return stackAgainst(temporal, await startModelServer(responder), taskQueue, overrides, peer);
}

/** A stack against a model that runs in another process (bench/model-process.ts). */
export function startBenchStackOn(temporal: BenchTemporal, modelBaseURL: string, taskQueue: string): Promise<BenchStack<Pick<ModelServer, 'baseURL' | 'close'>>> {
  return stackAgainst(temporal, { baseURL: modelBaseURL, close: async () => undefined }, taskQueue);
}

async function stackAgainst<Model extends Pick<ModelServer, 'baseURL' | 'close'>>(temporal: BenchTemporal, model: Model, taskQueue: string, overrides: Partial<StackOptions> = {}, peer?: PeerActivities): Promise<BenchStack<Model>> {
  const config = loadConfig({});
  const stack = await startStack({
    client: temporal.environment.client,
    nativeConnection: temporal.environment.nativeConnection,
    namespace: temporal.environment.namespace ?? 'default',
    taskQueue,
    model: { ...config.model, baseURL: model.baseURL, name: 'bench', useDemo: false },
    limits: config.limits,
    toolSettings: config.tools,
    temporalUiUrl: config.temporal.uiUrl,
    // As npm start does (BENCH_EAGER=0 measures without eager start).
    ...(process.env.BENCH_EAGER !== '0' ? { eagerClient: new Client({ connection: temporal.environment.nativeConnection, namespace: temporal.environment.namespace ?? 'default' }) } : {}),
    ...(peer ? { activityOverrides: (relay: MemoryRelay) => peer(relay, model.baseURL) } : {}),
    ...overrides,
  });
  return {
    stack,
    model,
    async close() {
      await stack.stop();
      await model.close();
    },
  };
}

export { runToEnd } from './harness-client';
