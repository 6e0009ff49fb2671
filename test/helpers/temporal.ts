import { DefaultLogger, Runtime } from '@temporalio/worker';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { findTemporalCli } from '../../src/temporal/cli';

let runtimeInstalled = false;

// A real Temporal dev server per test file, from the CLI the project finds or builds.
export async function startTemporal(): Promise<TestWorkflowEnvironment> {
  if (!runtimeInstalled) {
    // Worker state changes at INFO would drown the test report.
    Runtime.install({ logger: new DefaultLogger('WARN') });
    runtimeInstalled = true;
  }
  const cli = await findTemporalCli({ allowDownload: true });
  return TestWorkflowEnvironment.createLocal(
    cli.kind === 'path'
      ? { server: { executable: { type: 'existing-path', path: cli.path }, ip: '127.0.0.1' } }
      : { server: { ip: '127.0.0.1' } },
  );
}
