import type { RunListStatus } from '../../client';
import { UsageError } from '../exit-codes';
import { clientOf, type CliSettings } from '../settings';
import { positiveInteger } from './run';

// durable-agents runs [--status s] [--limit n]: the caller's runs, newest first, as a table
// (or one JSON object per run with --json).

// Every status once: the compiler says when the API's list of statuses changes.
const statuses: Record<RunListStatus, true> = { running: true, completed: true, failed: true, cancelled: true };

export interface RunsFlags {
  status?: string;
  limit?: string;
}

export async function runsCommand(flags: RunsFlags, settings: CliSettings): Promise<number> {
  if (flags.status !== undefined && !Object.hasOwn(statuses, flags.status)) {
    throw new UsageError(`--status is one of ${Object.keys(statuses).join(', ')}, not "${flags.status}"`);
  }
  const limit = flags.limit === undefined ? 20 : positiveInteger('--limit', flags.limit);
  const client = clientOf(settings);
  const status = flags.status as RunListStatus | undefined;
  const runs = [];
  // Pages of at most 100 until the limit.
  for await (const run of client.allRuns({ ...(status ? { status } : {}), limit: Math.min(limit, 100) })) {
    runs.push(run);
    if (runs.length >= limit) break;
  }
  if (settings.json) {
    for (const run of runs) process.stdout.write(`${JSON.stringify(run)}\n`);
    return 0;
  }
  const rows = runs.map((run) => [run.runId, run.status, run.startedAt.replace('T', ' ').slice(0, 19), run.model ?? '', (run.input ?? '').replace(/\s+/g, ' ').slice(0, 50)]);
  printTable(['RUN', 'STATUS', 'STARTED (UTC)', 'MODEL', 'TASK'], rows);
  if (runs.length === 0) process.stderr.write('no runs\n');
  return 0;
}

function printTable(header: string[], rows: string[][]): void {
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column]!.length)));
  for (const row of [header, ...rows]) process.stdout.write(`${row.map((cell, column) => cell.padEnd(widths[column]!)).join('  ').trimEnd()}\n`);
}
