import { clientOf, type CliSettings } from '../settings';

// durable-agents approve|deny <runId> <callId> [--reason text]: decides a call that waits.

export async function decideCommand(approve: boolean, runId: string, callId: string, flags: { reason?: string }, settings: CliSettings): Promise<number> {
  const decided = await clientOf(settings).decide(runId, callId, { approve, ...(flags.reason ? { reason: flags.reason } : {}) });
  process.stdout.write(settings.json ? `${JSON.stringify(decided)}\n` : `call ${decided.callId} of run ${decided.runId}: ${decided.decision}\n`);
  return 0;
}
