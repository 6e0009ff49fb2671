// `npm run cluster`: the production topology on this machine (cluster.ts), until SIGTERM or Ctrl-C.
//   CLUSTER_DIR            state: secrets.env, logs/ (default: .cluster)
//   CLUSTER_NODES          the two Temporal nodes' loopback addresses (default: 127.0.0.2,127.0.0.3)
//   CLUSTER_PORT           the load balancer's port for the API (default 8000)
//   CLUSTER_TEMPORAL_PORT  the load balancer's port for Temporal's frontends (default 7233)
//   CLUSTER_UI_PORT, CLUSTER_POSTGRES_PORT (defaults 8080, 5433), NUM_HISTORY_SHARDS (default 4)
//   CLUSTER_RESTORE        a backup (npm run cluster:backup) to restore into this new cluster first
//   OPENAI_BASE_URL, OPENAI_API_KEY, MODEL...: the model, as for `npm start` (default: the demo model)
import { resolve } from 'node:path';
import { startCluster } from './cluster';

function number(name: string, fallback: number): number;
function number(name: string, fallback: undefined, minimum: number): number | undefined;
function number(name: string, fallback: number | undefined, minimum = 0): number | undefined {
  const value = process.env[name];
  if (value === undefined || value === '') return fallback;
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < minimum || parsed > 65_535) {
    console.error(`${name} must be a whole number from ${minimum} to 65535, got "${value}"`);
    process.exit(2);
  }
  return parsed;
}
const nodes = (process.env.CLUSTER_NODES ?? '127.0.0.2,127.0.0.3').split(',').map((address) => address.trim());
if (nodes.length !== 2 || nodes.some((address) => !/^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(address)) || nodes[0] === nodes[1]) {
  console.error(`CLUSTER_NODES must be two different loopback addresses (127.x.y.z), got "${process.env.CLUSTER_NODES}"`);
  process.exit(2);
}
const dir = resolve(process.env.CLUSTER_DIR ?? '.cluster');

try {
  const cluster = await startCluster({
    dir,
    nodeAddresses: [nodes[0]!, nodes[1]!],
    ports: { loadBalancer: number('CLUSTER_PORT', 8000), temporal: number('CLUSTER_TEMPORAL_PORT', 7233), ui: number('CLUSTER_UI_PORT', 8080), postgres: number('CLUSTER_POSTGRES_PORT', 5433) },
    numHistoryShards: number('NUM_HISTORY_SHARDS', undefined, 1),
    ...(process.env.CLUSTER_RESTORE ? { restoreFrom: resolve(process.env.CLUSTER_RESTORE) } : {}),
    log: (line) => console.log(line),
  });
  console.log('');
  console.log(`load balancer: ${cluster.url} (the API on both replicas; the console at /)`);
  console.log(`API replicas:  ${cluster.apiUrls.join(', ')}`);
  console.log(`API key:       API_KEYS in ${cluster.secretsFile} (tenant:key; send the key as Authorization: Bearer <key>)`);
  console.log(`Temporal:      ${cluster.temporalAddress} (load balancer) -> nodes ${cluster.nodeAddresses.map((address) => `${address}:7233`).join(', ')}`);
  console.log(`Temporal UI:   ${cluster.uiUrl}/namespaces/${cluster.namespace}/workflows`);
  console.log(`PostgreSQL:    ${cluster.postgresAddress} (user temporal, password POSTGRES_PWD in ${cluster.secretsFile}; data in ${cluster.postgresDataDir})`);
  console.log(`workers:       2, task queue "${cluster.taskQueue}"`);
  console.log(`logs:          ${cluster.logDir}`);
  console.log('SIGTERM or Ctrl-C stops all of it.');
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`${signal}: stopping the cluster...`);
    void cluster.stop().then(
      () => {
        console.log('cluster stopped');
        process.exit(0);
      },
      (error: Error) => {
        console.error(`stopping the cluster: ${error.message}`);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
} catch (error) {
  console.error(`cluster: ${(error as Error).message}`);
  process.exit(1);
}
