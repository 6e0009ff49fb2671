import { followRun } from '../follow';
import { clientOf, type CliSettings } from '../settings';
import { rendererFor } from './renderer-for';

// durable-agents watch <runId>: any run, running or ended, from its start (the whole transcript,
// rebuilt from durable state where needed), from now on (--from-latest), or after an event id
// (--after, the position Ctrl-C printed).

export interface WatchFlags {
  fromLatest?: boolean;
  after?: string;
}

export async function watchCommand(runId: string, flags: WatchFlags, settings: CliSettings): Promise<number> {
  const client = clientOf(settings);
  const position = flags.after ? { lastEventId: flags.after } : flags.fromLatest ? { from: 'latest' as const } : {};
  return followRun(client, runId, rendererFor(runId, settings), position);
}
