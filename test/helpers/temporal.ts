import { DefaultLogger, Runtime } from '@temporalio/worker';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { findTemporalCli } from '../../src/temporal/cli';
import { dynamicConfigArgs } from '../../src/temporal/dev-server';
import { searchAttributeArgs } from '../../src/temporal/search-attributes';
import { freePort } from '../../src/temporal/free-port';

let runtimeInstalled = false;

/** Worker state changes at INFO would drown the test report. */
export function installQuietRuntime(): void {
  if (runtimeInstalled) return;
  Runtime.install({ logger: new DefaultLogger('WARN') });
  runtimeInstalled = true;
}

export type TestTemporal = TestWorkflowEnvironment & {
  /** The server's Prometheus metrics. */
  metricsUrl: string;
};

// A real Temporal dev server per test file, from the CLI the project finds or builds, with the
// settings `npm start` gives its embedded server.
export async function startTemporal(options: { uiPort?: number } = {}): Promise<TestTemporal> {
  installQuietRuntime();
  const cli = await findTemporalCli({ allowDownload: true });
  const metricsPort = await freePort();
  const extraArgs = [...dynamicConfigArgs(), ...searchAttributeArgs(), '--metrics-port', String(metricsPort)];
  // The Web UI only where a test looks at it.
  const ui = options.uiPort ? { ui: true, uiPort: options.uiPort } : {};
  const environment = await TestWorkflowEnvironment.createLocal(
    cli.kind === 'path'
      ? { server: { executable: { type: 'existing-path', path: cli.path }, ip: '127.0.0.1', extraArgs, ...ui } }
      : { server: { ip: '127.0.0.1', extraArgs, ...ui } },
  );
  return Object.assign(environment, { metricsUrl: `http://127.0.0.1:${metricsPort}/metrics` });
}

/** The sum of a counter over all its label sets in the server's metrics (0 when absent). */
export async function serverCounter(temporal: TestTemporal, name: string): Promise<number> {
  const text = await (await fetch(temporal.metricsUrl)).text();
  let sum = 0;
  for (const line of text.split('\n')) {
    const match = new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`).exec(line);
    if (match) sum += Number(match[1]);
  }
  return sum;
}
