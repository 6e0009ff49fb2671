import { createServer } from 'node:net';
import { Runtime, type Logger as SdkLogger } from '@temporalio/worker';

// The Temporal SDK's runtime for a process that runs a worker: its logs go to our logger
// (temporal-logger.ts) and, with metrics on, its own worker metrics (task slots, poll and
// schedule-to-start latencies, sticky cache, activity and workflow task outcomes: Temporal's
// `temporal_*` metrics, as its SDK dashboards expect them) are served by the SDK's Prometheus
// exporter on a loopback port of this process, which our /metrics reads and appends. Named as
// Prometheus wants: seconds, `_total` on counters, units in names.

export interface TemporalRuntime {
  /** Where the SDK serves its metrics on loopback (with metrics on). */
  metricsUrl?: string;
}

/** A free TCP port on loopback, now (the SDK binds it next; a lost race is tried again). */
function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export async function installTemporalRuntime(options: { logger: SdkLogger; metrics: boolean }): Promise<TemporalRuntime> {
  if (!options.metrics) {
    Runtime.install({ logger: options.logger });
    return {};
  }
  // Another process may take the port between our look and the SDK's bind: then another port.
  let lastError: unknown;
  for (let tries = 0; tries < 5; tries++) {
    const port = await freeLoopbackPort();
    const bindAddress = `127.0.0.1:${port}`;
    try {
      Runtime.install({
        logger: options.logger,
        telemetryOptions: { metrics: { prometheus: { bindAddress, countersTotalSuffix: true, unitSuffix: true, useSecondsForDurations: true } } },
      });
      return { metricsUrl: `http://${bindAddress}/metrics` };
    } catch (error) {
      lastError = error;
      if (!/address already in use/i.test((error as Error).message)) throw error;
    }
  }
  throw lastError;
}

/** The SDK's metrics as exposition text; a comment saying why when they cannot be read. */
export async function temporalMetricsText(url: string | undefined): Promise<string> {
  if (!url) return '';
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(2000) });
    if (!response.ok) return `# The Temporal SDK's metrics answered HTTP ${response.status}\n`;
    return await response.text();
  } catch (error) {
    return `# The Temporal SDK's metrics could not be read: ${(error as Error).message.replace(/\s+/g, ' ')}\n`;
  }
}
