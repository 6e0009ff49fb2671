import { clientOf, type CliSettings } from '../settings';

// durable-agents cancel <runId>: asks the run to stop; it ends with run.cancelled moments later.

export async function cancelCommand(runId: string, settings: CliSettings): Promise<number> {
  const cancelled = await clientOf(settings).cancel(runId);
  process.stdout.write(settings.json ? `${JSON.stringify(cancelled)}\n` : `run ${cancelled.runId}: ${cancelled.status}\n`);
  return 0;
}
