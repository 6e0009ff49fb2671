import { Client } from '@temporalio/client';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { loadConfig } from '../src/config';
import { startModelServer, type ModelServer, type Responder } from '../src/demo-model/server';
import type { MemoryRelay } from '../src/relay/memory-relay';
import { startStack, type Stack, type StackOptions } from '../src/stack';
import { cliVersion, findTemporalCli } from '../src/temporal/cli';

// One embedded Temporal for a benchmark run, and stacks (worker + API) against local models.

Runtime.install({ logger: new DefaultLogger('WARN') });

export interface BenchTemporal {
  environment: TestWorkflowEnvironment;
  version: string;
  close(): Promise<void>;
}

export async function startBenchTemporal(): Promise<BenchTemporal> {
  const cli = await findTemporalCli();
  const environment = await TestWorkflowEnvironment.createLocal(
    cli.kind === 'path' ? { server: { executable: { type: 'existing-path', path: cli.path }, ip: '127.0.0.1' } } : {},
  );
  return { environment, version: cli.kind === 'path' ? cliVersion(cli.path) : 'sdk download', close: () => environment.teardown() };
}

export interface BenchStack {
  stack: Stack;
  model: ModelServer;
  close(): Promise<void>;
}

/** A peer's activities, given the stack's relay and the model's base URL. */
export type PeerActivities = (relay: MemoryRelay, modelBaseURL: string) => Record<string, (...args: any[]) => Promise<unknown>>;

export async function startBenchStack(temporal: BenchTemporal, responder: Responder, taskQueue: string, overrides: Partial<StackOptions> = {}, peer?: PeerActivities): Promise<BenchStack> {
  const model = await startModelServer(responder);
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

/** POSTs a run and reads its SSE stream to the end; returns the run id and when events arrived. */
export async function runToEnd(url: string, body: unknown): Promise<{ runId: string; started: number; firstDelta: number; ended: number }> {
  const started = performance.now();
  const created = await fetch(`${url}/v1/runs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const { runId } = (await created.json()) as { runId: string };
  const response = await fetch(`${url}/v1/runs/${runId}/events`);
  const decoder = new TextDecoder();
  let buffer = '';
  let firstDelta = Number.NaN;
  for await (const bytes of response.body!) {
    buffer += decoder.decode(bytes as Uint8Array, { stream: true });
    if (Number.isNaN(firstDelta) && buffer.includes('event: text.delta')) firstDelta = performance.now();
    if (/event: run\.(completed|failed|cancelled)/.test(buffer)) break;
  }
  return { runId, started, firstDelta, ended: performance.now() };
}
