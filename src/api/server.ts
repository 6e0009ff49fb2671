// `npm run api`: the API alone, against TEMPORAL_ADDRESS; live events come from the workers'
// stream endpoints (src/relay/remote-relay.ts). Run as many as you like.
import { Client, Connection } from '@temporalio/client';
import { ConfigError, loadConfig, requireSplitSettings } from '../config';
import { RemoteRelay } from '../relay/remote-relay';
import { setUpTools } from '../tool-setup';
import { createApp } from './app';
import { RunStore } from './run-store';

async function main() {
  const config = loadConfig();
  const { address, secret } = requireSplitSettings(config, 'api');
  const log = (line: string) => console.log(line);
  const tools = await setUpTools(config, log);
  const connection = await Connection.connect({ address });
  const client = new Client({ connection, namespace: config.temporal.namespace });
  const relay = new RemoteRelay({ client, namespace: config.temporal.namespace, taskQueue: config.temporal.taskQueue, secret, log });
  const app = createApp({
    client,
    store: new RunStore(client, config.temporal.taskQueue),
    relay,
    defaultModel: config.model.name,
    toolNames: tools.registry.names,
    toolPolicies: (names) => tools.registry.policies(names),
    toolConcurrency: config.toolConcurrency,
    taskQueue: config.temporal.taskQueue,
    session: config.session,
    limits: config.limits,
    temporalUi: { url: config.temporal.uiUrl, namespace: config.temporal.namespace },
  });
  const server = app.listen(config.port, config.host, () => {
    const bound = server.address();
    const port = typeof bound === 'object' && bound ? bound.port : config.port;
    log(`API: http://${config.host}:${port} (Temporal ${address}, task queue "${config.temporal.taskQueue}")`);
  });
  const stop = () => {
    server.closeAllConnections();
    server.close(() => {
      void tools.close();
      void connection.close();
      process.exit(0);
    });
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main().catch((error) => {
  console.error(error instanceof ConfigError ? error.message : error);
  process.exit(1);
});
