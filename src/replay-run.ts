// `npm run replay -- <runId or sessionId> [executionId]`: fetches a workflow's history from
// Temporal (TEMPORAL_ADDRESS or the temporal.toml profile, with its TLS and API key; default the
// embedded server's 127.0.0.1:TEMPORAL_PORT, plain) and replays it against the current workflow
// code. Exit 0 when the code reproduces it; 1 with the nondeterminism otherwise.
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, Runtime, Worker } from '@temporalio/worker';
import { temporalDataConverter } from './codec';
import { ConfigError, loadConfig } from './config';
import { clientConnectionOptions } from './temporal/connect';
import { fetchExecutionHistory } from './temporal/history';
import { workflowBundle } from './worker';

async function main() {
  const [workflowId, executionId] = process.argv.slice(2);
  if (!workflowId) {
    console.error('usage: npm run replay -- <runId or sessionId> [executionId]');
    process.exit(2);
  }
  const config = loadConfig();
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  const address = config.temporal.address ?? `127.0.0.1:${config.temporal.port}`;
  const security = config.temporal.address ? config.temporal.security : {};
  const connection = await Connection.connect(clientConnectionOptions(address, security));
  try {
    // Encrypted histories (PAYLOAD_KEYS) replay with the same keys.
    const dataConverter = temporalDataConverter(config.payloadKeys);
    const client = new Client({ connection, namespace: config.temporal.namespace, dataConverter });
    const history = await fetchExecutionHistory(client, workflowId, executionId);
    const events = history.events?.length ?? 0;
    const bundle = await workflowBundle({ encryptFailures: dataConverter !== undefined });
    await Worker.runReplayHistory({ workflowBundle: bundle, ...(dataConverter ? { dataConverter } : {}) }, history, workflowId);
    console.log(`replayed ${workflowId}: ${events} history events, reproduced by the current code`);
  } finally {
    await connection.close();
  }
}

main().catch((error) => {
  console.error(error instanceof ConfigError ? error.message : `replay failed: ${(error as Error).message}`);
  process.exit(1);
});
