import { existsSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ensureDebianPackage } from '../debian';
import { checkRestore, restoreDatabases } from './backup';
import { ensureClusterPrograms, type ClusterPrograms } from './binaries';
import { ensureNamespace, waitForFrontend } from './namespace';
import { freePort, portIsFree } from '../../src/temporal/free-port';
import { startPostgres } from './postgres';
import { apiKeyOf, loadOrCreateSecrets, type ClusterSecrets } from './secrets';
import { Supervised } from './supervised';

// The production topology on one machine, without Docker: PostgreSQL; two Temporal server nodes
// (all four services each, on their own loopback address, in one membership ring); the Temporal
// Web UI; two workers and two API replicas of ours; and HAProxy in front of the APIs (HTTP) and of
// Temporal's frontends (gRPC). Configured by the files docker-compose.yml reads too:
// deploy/temporal/cluster.yaml, dynamicconfig.yaml and setup-schema.sh, deploy/haproxy/haproxy.cfg,
// deploy/temporal-ui/docker.yaml. Used by `npm run cluster` (main.ts), the cluster test, the chaos
// run's --cluster mode and the cluster benchmarks.

const root = resolve(import.meta.dirname, '..', '..');
const deploy = join(root, 'deploy');

export const componentNames = ['postgresql', 'temporal-1', 'temporal-2', 'temporal-ui', 'demo-model', 'worker-1', 'worker-2', 'api-1', 'api-2', 'load-balancer'] as const;
export type ComponentName = (typeof componentNames)[number];

export interface ClusterOptions {
  /** The cluster's own directory: secrets.env, logs/, and PostgreSQL's data when not run as root. */
  dir: string;
  /** Where PostgreSQL keeps its data (default: dir/postgres, or /var/lib/postgresql/durable-agents/<name> as root). */
  postgresDataDir?: string;
  /** The two Temporal nodes' loopback addresses (each listens on 7233-7239 and 6933-6939 there). */
  nodeAddresses?: [string, string];
  /** Fixed ports on 127.0.0.1 (0 or unset: any free one). */
  ports?: Partial<Record<'loadBalancer' | 'temporal' | 'ui' | 'postgres', number>>;
  /** Fixed when the database is made (default 4, or the backup's when restoring). */
  numHistoryShards?: number;
  /** A backup (npm run cluster:backup) to restore into this new cluster's empty database first (backup.ts). */
  restoreFrom?: string;
  namespace?: string;
  taskQueue?: string;
  /** More environment for the workers and APIs (a model: OPENAI_BASE_URL, MODEL; limits). Without OPENAI_BASE_URL, the demo model answers. */
  appEnv?: Record<string, string>;
  log?: (line: string) => void;
}

export interface Cluster {
  /** The API, through the load balancer. */
  url: string;
  /** Temporal's frontends, through the load balancer (host:port). */
  temporalAddress: string;
  uiUrl: string;
  nodeAddresses: [string, string];
  apiUrls: [string, string];
  namespace: string;
  taskQueue: string;
  apiKey: string;
  secrets: ClusterSecrets;
  secretsFile: string;
  logDir: string;
  /** PostgreSQL's address (host:port) and data directory. */
  postgresAddress: string;
  postgresDataDir: string;
  components: Map<ComponentName, Supervised>;
  /** kill -9 of one part (its process group). */
  kill(name: ComponentName): Promise<void>;
  /** Starts a stopped or killed part again, with the same addresses, and waits until it serves. */
  start(name: ComponentName): Promise<void>;
  /** Stops everything, the load balancer first and PostgreSQL last. */
  stop(): Promise<void>;
}

/** Where PostgreSQL keeps a cluster's data unless told: its directory, or where the postgres user can reach it when we are root. */
export const defaultPostgresDataDir = (clusterDir: string) =>
  process.getuid?.() === 0 ? join('/var/lib/postgresql/durable-agents', resolve(clusterDir).replace(/[^a-zA-Z0-9]+/g, '_')) : join(resolve(clusterDir), 'postgres');

interface Part {
  process: Supervised;
  ready: () => Promise<void>;
}

export async function startCluster(options: ClusterOptions): Promise<Cluster> {
  const log = options.log ?? ((line: string) => console.log(line));
  const dir = resolve(options.dir);
  const logDir = join(dir, 'logs');
  const nodeAddresses = options.nodeAddresses ?? ['127.0.0.2', '127.0.0.3'];
  const namespace = options.namespace ?? 'default';
  const taskQueue = options.taskQueue ?? 'agent-turns';
  const host = '127.0.0.1';

  const programs: ClusterPrograms = await ensureClusterPrograms(log);
  ensureDebianPackage('haproxy');
  for (const address of nodeAddresses) {
    for (const port of [7233, 7234, 7235, 7239, 7243, 6933, 6934, 6935, 6939]) {
      if (!(await portIsFree(address, port))) throw new Error(`${address}:${port} is in use: another Temporal there? Stop it, or give the nodes other addresses (CLUSTER_NODES).`);
    }
  }
  const port = async (fixed: number | undefined) => {
    if (!fixed) return freePort(host);
    if (!(await portIsFree(host, fixed))) throw new Error(`${host}:${fixed} is in use; choose another port (see deploy/README.md)`);
    return fixed;
  };
  const ports = {
    loadBalancer: await port(options.ports?.loadBalancer),
    temporal: await port(options.ports?.temporal),
    ui: await port(options.ports?.ui),
    postgres: await port(options.ports?.postgres),
    model: await freePort(host),
    streams: [await freePort(host), await freePort(host)],
    workerMetrics: [await freePort(host), await freePort(host)],
    apis: [await freePort(host), await freePort(host)],
  };
  const secretsFile = join(dir, 'secrets.env');
  const secrets = loadOrCreateSecrets(secretsFile);
  const temporalAddress = `${host}:${ports.temporal}`;
  const uiUrl = `http://${host}:${ports.ui}`;
  const url = `http://${host}:${ports.loadBalancer}`;
  const apiUrls: [string, string] = [`http://${host}:${ports.apis[0]}`, `http://${host}:${ports.apis[1]}`];
  const parts = new Map<ComponentName, Part>();
  const started: ComponentName[] = [];
  const stopAll = async () => {
    for (const name of [...started].reverse()) await parts.get(name)!.process.stop();
  };

  const postgresDataDir = options.postgresDataDir ?? defaultPostgresDataDir(dir);
  let numHistoryShards = options.numHistoryShards ?? 4;
  if (options.restoreFrom) {
    if (existsSync(join(postgresDataDir, 'PG_VERSION'))) throw new Error(`a backup is restored into a new cluster, and ${postgresDataDir} already holds a database: give the restored cluster a directory of its own (CLUSTER_DIR)`);
    numHistoryShards = checkRestore(options.restoreFrom, secrets, options.numHistoryShards, secretsFile).numHistoryShards;
  }
  try {
    const postgres = await startPostgres({ dataDir: postgresDataDir, host, port: ports.postgres, user: 'temporal', password: secrets.POSTGRES_PWD, log, logFile: join(logDir, 'postgresql.log') });
    parts.set('postgresql', { process: postgres, ready: () => postgres.waitForPort(host, ports.postgres) });
    started.push('postgresql');
    if (options.restoreFrom) {
      try {
        restoreDatabases(options.restoreFrom, { host, port: ports.postgres, password: secrets.POSTGRES_PWD }, log);
      } catch (error) {
        // The database was made for this restore only: gone again, a second attempt may start afresh.
        await postgres.stop();
        started.pop();
        rmSync(postgresDataDir, { recursive: true, force: true });
        throw error;
      }
    }

    const databaseEnv = { POSTGRES_HOST: host, POSTGRES_PORT: String(ports.postgres), POSTGRES_USER: 'temporal', POSTGRES_PWD: secrets.POSTGRES_PWD };
    const schema = new Supervised({ name: 'setup-schema', command: 'sh', args: [join(deploy, 'temporal', 'setup-schema.sh')], env: { ...process.env, ...databaseEnv, TEMPORAL_SQL_TOOL: programs.sqlTool }, logFile: join(logDir, 'setup-schema.log') });
    await schema.start();
    await schema.waitFor(/schema: temporal_visibility at the latest/, 120_000);
    await schema.stop();

    nodeAddresses.forEach((address, index) => {
      const name = `temporal-${index + 1}` as ComponentName;
      const node = new Supervised({
        name,
        command: programs.server,
        args: ['--root', root, '--config', 'deploy/temporal', '--env', 'cluster', '--allow-no-auth', 'start'],
        cwd: root,
        env: {
          ...process.env,
          ...databaseEnv,
          NODE_ADDRESS: address,
          NUM_HISTORY_SHARDS: String(numHistoryShards),
          TEMPORAL_CLUSTER_ADDRESS: temporalAddress,
          DYNAMIC_CONFIG_FILE_PATH: join(deploy, 'temporal', 'dynamicconfig.yaml'),
          PROMETHEUS_ENDPOINT: `${address}:9090`,
        },
        logFile: join(logDir, `${name}.log`),
      });
      parts.set(name, { process: node, ready: () => waitForFrontend(`${address}:7233`, 120_000, () => node.running, () => node.recentOutput()) });
    });
    // One node after the other: on a fresh database the first writes the cluster's metadata, and
    // two nodes doing so at once can make one of them exit.
    for (const name of ['temporal-1', 'temporal-2'] as const) {
      await parts.get(name)!.process.start();
      started.push(name);
      await parts.get(name)!.ready();
    }
    await ensureNamespace(nodeAddresses.map((address) => `${address}:7233`), namespace, log);

    const balancer = new Supervised({
      name: 'load-balancer',
      command: 'haproxy',
      args: ['-db', '-f', join(deploy, 'haproxy', 'haproxy.cfg')],
      env: {
        ...process.env,
        LB_HTTP_BIND: `${host}:${ports.loadBalancer}`,
        API_1: `${host}:${ports.apis[0]}`,
        API_2: `${host}:${ports.apis[1]}`,
        LB_TEMPORAL_BIND: temporalAddress,
        TEMPORAL_1: `${nodeAddresses[0]}:7233`,
        TEMPORAL_2: `${nodeAddresses[1]}:7233`,
      },
      logFile: join(logDir, 'load-balancer.log'),
    });
    parts.set('load-balancer', { process: balancer, ready: () => balancer.waitForPort(host, ports.loadBalancer) });

    const ui = new Supervised({
      name: 'temporal-ui',
      command: programs.ui,
      args: ['--root', join(deploy, 'temporal-ui'), '--config', '.', '--env', 'docker', 'start'],
      env: { ...process.env, TEMPORAL_ADDRESS: temporalAddress, TEMPORAL_UI_IP: host, TEMPORAL_UI_PORT: String(ports.ui), TEMPORAL_UI_ORIGIN: uiUrl },
      logFile: join(logDir, 'temporal-ui.log'),
    });
    parts.set('temporal-ui', { process: ui, ready: () => ui.waitForPort(host, ports.ui) });

    const modelEnv: Record<string, string> = {};
    if (!options.appEnv?.OPENAI_BASE_URL && !process.env.OPENAI_BASE_URL) {
      const model = new Supervised({ name: 'demo-model', command: process.execPath, args: ['--import', 'tsx', 'src/demo-model/main.ts'], cwd: root, env: { ...process.env, DEMO_MODEL_HOST: host, DEMO_MODEL_PORT: String(ports.model) }, logFile: join(logDir, 'demo-model.log') });
      parts.set('demo-model', { process: model, ready: () => model.waitForPort(host, ports.model) });
      modelEnv.OPENAI_BASE_URL = `http://${host}:${ports.model}/v1`;
    }

    const common: Record<string, string> = {
      TEMPORAL_ADDRESS: temporalAddress,
      TEMPORAL_NAMESPACE: namespace,
      TEMPORAL_UI_URL: uiUrl,
      TASK_QUEUE: taskQueue,
      RELAY_SECRET: secrets.RELAY_SECRET,
      RELAY_ALLOWED_HOSTS: ports.streams.map((stream) => `${host}:${stream}`).join(','),
      PAYLOAD_KEYS: secrets.PAYLOAD_KEYS,
      ...modelEnv,
      ...options.appEnv,
    };
    [0, 1].forEach((index) => {
      const worker = new Supervised({
        name: `worker-${index + 1}`,
        command: process.execPath,
        args: ['--import', 'tsx', 'src/worker.ts'],
        cwd: root,
        env: { ...process.env, ...common, STREAM_HOST: host, STREAM_PORT: String(ports.streams[index]), METRICS_HOST: host, METRICS_PORT: String(ports.workerMetrics[index]) },
        logFile: join(logDir, `worker-${index + 1}.log`),
      });
      parts.set(`worker-${index + 1}` as ComponentName, { process: worker, ready: () => worker.waitFor(/worker polling task queue/, 180_000).then(() => undefined) });
      const api = new Supervised({
        name: `api-${index + 1}`,
        command: process.execPath,
        args: ['--import', 'tsx', 'src/api/server.ts'],
        cwd: root,
        env: { ...process.env, ...common, HOST: host, PORT: String(ports.apis[index]), API_KEYS: secrets.API_KEYS },
        logFile: join(logDir, `api-${index + 1}.log`),
      });
      parts.set(`api-${index + 1}` as ComponentName, { process: api, ready: () => api.waitFor(/API: http/, 180_000).then(() => undefined) });
    });

    // The rest at once: each waits for what it needs by itself (the load balancer's health checks, the workers' reconnects).
    const rest: ComponentName[] = ['temporal-ui', ...(parts.has('demo-model') ? (['demo-model'] as const) : []), 'worker-1', 'worker-2', 'api-1', 'api-2', 'load-balancer'];
    for (const name of rest) {
      await parts.get(name)!.process.start();
      started.push(name);
    }
    await Promise.all(rest.map((name) => parts.get(name)!.ready()));
  } catch (error) {
    await stopAll();
    throw error;
  }

  const components = new Map([...parts].map(([name, part]) => [name, part.process]));
  return {
    url,
    temporalAddress,
    uiUrl,
    nodeAddresses,
    apiUrls,
    namespace,
    taskQueue,
    apiKey: apiKeyOf(secrets),
    secrets,
    secretsFile,
    logDir,
    postgresAddress: `${host}:${ports.postgres}`,
    postgresDataDir,
    components,
    kill: async (name) => parts.get(name)?.process.kill('SIGKILL'),
    start: async (name) => {
      const part = parts.get(name);
      if (!part) throw new Error(`no component ${name} in this cluster`);
      await part.process.start();
      await part.ready();
    },
    stop: stopAll,
  };
}
