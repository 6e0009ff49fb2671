import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { defaultPostgresDataDir, startCluster, type Cluster, type ComponentName } from '../deploy/cluster/cluster';
import { temporalDataConverter } from '../src/codec';
import { parsePayloadKeys } from '../src/codec/payload-keys';
import { findTemporalCli } from '../src/temporal/cli';
import { startDevServer } from '../src/temporal/dev-server';
import { spareNodeAddresses } from '../deploy/cluster/node-addresses';
import { freePort } from '../src/temporal/free-port';
import { startChild, type Child } from '../test/helpers/processes';

// Where the chaos run's runs go, and what it kills:
// - dev: the embedded dev server (SQLite), two workers and two API replicas as processes; clients
//   pick a live replica themselves.
// - cluster: `npm run cluster`'s topology (deploy/cluster/): two Temporal nodes on PostgreSQL,
//   two workers, two API replicas, HAProxy; clients go through the load balancer, with a key.

export type ChaosTarget = 'worker' | 'api' | 'temporal';

export interface ChaosStack {
  kind: 'dev' | 'cluster';
  /** Where a client sends its next request. */
  apiUrl(): string;
  headers: Record<string, string>;
  /** kill -9 of one instance of the target (slot 0 or 1), then the same started again; resolves once it serves. */
  killAndRestart(target: ChaosTarget, slot: number, pauseMs: number): Promise<void>;
  /** A Temporal client that reads the runs (payloads decoded). */
  temporalClient(): Promise<{ client: Client; close(): Promise<void> }>;
  stop(): Promise<void>;
}

/** The app's settings both stacks give their workers and APIs. */
export interface ChaosAppEnv {
  OPENAI_BASE_URL: string;
  HTTP_GET_ALLOWED_HOSTS: string;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const pick = <T>(list: T[]): T => list[Math.floor(Math.random() * list.length)]!;

export async function startDevChaosStack(appEnv: ChaosAppEnv): Promise<ChaosStack> {
  const cli = await findTemporalCli();
  const temporal = await startDevServer({ cli, dataDir: mkdtempSync(join(tmpdir(), 'chaos-')), port: await freePort(), uiPort: await freePort(), namespace: 'default', log: () => undefined });
  const env = { ...appEnv, TEMPORAL_ADDRESS: temporal.address, RELAY_SECRET: randomBytes(24).toString('hex'), TASK_QUEUE: `chaos-${randomUUID()}` };
  const workers: Array<Child | undefined> = [];
  const apis: Array<{ child: Child; url: string } | undefined> = [];
  const startWorker = async (slot: number) => {
    const child = startChild('src/worker.ts', env);
    await child.waitFor(/worker polling/, 120_000);
    workers[slot] = child;
  };
  const startApi = async (slot: number) => {
    const child = startChild('src/api/server.ts', { ...env, PORT: '0' });
    const url = (await child.waitFor(/API: (http:\/\/\S+)/, 120_000))[1]!;
    apis[slot] = { child, url };
  };
  await Promise.all([startWorker(0), startWorker(1), startApi(0), startApi(1)]);
  return {
    kind: 'dev',
    apiUrl: () => pick(apis.filter((api): api is { child: Child; url: string } => api !== undefined)).url,
    headers: {},
    async killAndRestart(target, slot, pauseMs) {
      if (target === 'temporal') throw new Error('the dev stack has one Temporal: kill workers and APIs only');
      if (target === 'worker') {
        workers[slot]?.process.kill('SIGKILL');
        workers[slot] = undefined;
        await sleep(pauseMs);
        await startWorker(slot);
      } else {
        const api = apis[slot];
        apis[slot] = undefined;
        api?.child.process.kill('SIGKILL');
        await sleep(pauseMs);
        await startApi(slot);
      }
    },
    async temporalClient() {
      const connection = await Connection.connect({ address: temporal.address });
      return { client: new Client({ connection }), close: () => connection.close() };
    },
    async stop() {
      await Promise.all([...workers, ...apis.map((api) => api?.child)].map((child) => child?.stop('SIGTERM')));
      await temporal.stop();
    },
  };
}

export async function startClusterChaosStack(appEnv: ChaosAppEnv, log: (line: string) => void): Promise<ChaosStack & { cluster: Cluster }> {
  const dir = mkdtempSync(join(tmpdir(), 'chaos-cluster-'));
  const cluster = await startCluster({
    dir,
    nodeAddresses: spareNodeAddresses(),
    appEnv: { ...appEnv, OPENAI_API_KEY: 'sk-chaos' },
    log,
  }).catch((error: unknown) => {
    rmSync(dir, { recursive: true, force: true });
    rmSync(defaultPostgresDataDir(dir), { recursive: true, force: true });
    throw error;
  });
  const names: Record<ChaosTarget, [ComponentName, ComponentName]> = { worker: ['worker-1', 'worker-2'], api: ['api-1', 'api-2'], temporal: ['temporal-1', 'temporal-2'] };
  return {
    kind: 'cluster',
    cluster,
    apiUrl: () => cluster.url,
    headers: { authorization: `Bearer ${cluster.apiKey}` },
    async killAndRestart(target, slot, pauseMs) {
      const name = names[target][slot]!;
      await cluster.kill(name);
      await sleep(pauseMs);
      await cluster.start(name);
    },
    async temporalClient() {
      const connection = await Connection.connect({ address: cluster.temporalAddress });
      return { client: new Client({ connection, namespace: cluster.namespace, dataConverter: temporalDataConverter(parsePayloadKeys(cluster.secrets.PAYLOAD_KEYS)) }), close: () => connection.close() };
    },
    async stop() {
      await cluster.stop();
      // CHAOS_KEEP=1 keeps the cluster's logs and data to look into.
      if (process.env.CHAOS_KEEP) return log(`chaos: the cluster's logs are in ${cluster.logDir}, its data in ${cluster.postgresDataDir}`);
      rmSync(dir, { recursive: true, force: true });
      rmSync(cluster.postgresDataDir, { recursive: true, force: true });
    },
  };
}
