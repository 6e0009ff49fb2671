import { DefaultLogger, Runtime } from '@temporalio/worker';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { findTemporalCli } from '../../src/temporal/cli';

let runtimeInstalled = false;

/** Worker state changes at INFO would drown the test report. */
export function installQuietRuntime(): void {
  if (runtimeInstalled) return;
  Runtime.install({ logger: new DefaultLogger('WARN') });
  runtimeInstalled = true;
}

// A real Temporal dev server per test file, from the CLI the project finds or builds.
export async function startTemporal(): Promise<TestWorkflowEnvironment> {
  installQuietRuntime();
  const cli = await findTemporalCli({ allowDownload: true });
  return TestWorkflowEnvironment.createLocal(
    cli.kind === 'path'
      ? { server: { executable: { type: 'existing-path', path: cli.path }, ip: '127.0.0.1' } }
      : { server: { ip: '127.0.0.1' } },
  );
}
