import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { loadConfig } from '../src/config';
import { textFrames } from '../src/demo-model/chunks';
import { startModelServer } from '../src/demo-model/server';
import { startStack } from '../src/stack';
import { findTemporalCli } from '../src/temporal/cli';
import { devServerSqlitePragmas, startDevServer } from '../src/temporal/dev-server';
import { freePort } from '../src/temporal/free-port';
import { runToEnd, startBenchTemporal, type BenchTemporalOptions } from './harness';
import { ms, summarize, type Summary } from './stats';
import { measureTtft } from './ttft';

// `npx tsx bench/sqlite-pragmas.ts`: which SQLite pragmas for npm start's embedded Temporal.
// For each configuration, time to first token (the TTFT scenario) against a dev server in memory
// or on a fresh SQLite file with those pragmas, and, for the files, a crash check: runs completed,
// the dev server killed with SIGKILL right after the last one, started again on the same file,
// the runs counted. BENCH_RUNS pairs per configuration (default 30), BENCH_ROUNDS rounds through
// the configurations (default 1; the figures pool the rounds), BENCH_CRASH_RUNS runs per crash
// check (default 20; 0 skips it), BENCH_PRAGMA_CONFIGS picks configurations by name (comma-
// separated). Written to bench/results/partial/sqlite-pragmas.{json,md}.

interface Configuration {
  name: string;
  /** undefined: in memory. */
  pragmas?: Record<string, string>;
}

const configurations: Configuration[] = [
  { name: 'memory' },
  { name: 'file-default', pragmas: {} },
  { name: 'wal-full', pragmas: { journal_mode: 'WAL', synchronous: 'FULL' } },
  { name: 'wal-normal', pragmas: { journal_mode: 'WAL', synchronous: 'NORMAL' } },
  { name: 'delete-off', pragmas: { synchronous: 'OFF' } },
  { name: 'wal-off', pragmas: { journal_mode: 'WAL', synchronous: 'OFF' } },
];

const runs = Number(process.env.BENCH_RUNS ?? 30);
const rounds = Number(process.env.BENCH_ROUNDS ?? 1);
const crashRuns = Number(process.env.BENCH_CRASH_RUNS ?? 20);
const picked = process.env.BENCH_PRAGMA_CONFIGS?.split(',').map((name) => name.trim());
const chosen = configurations.filter((configuration) => !picked || picked.includes(configuration.name));
if (chosen.length === 0) {
  console.error(`BENCH_PRAGMA_CONFIGS: choose from ${configurations.map((configuration) => configuration.name).join(', ')}`);
  process.exit(2);
}

const describe = (configuration: Configuration) =>
  configuration.pragmas === undefined
    ? 'SQLite in memory'
    : Object.keys(configuration.pragmas).length === 0
      ? 'SQLite file, default pragmas (journal_mode=DELETE, synchronous=FULL)'
      : `SQLite file, ${Object.entries(configuration.pragmas).map(([key, value]) => `${key}=${value}`).join(', ')}`;

interface Row {
  name: string;
  storage: string;
  npmStart: boolean;
  runs: number;
  stack: Summary;
  added: Summary;
  signal: Summary;
  crash?: CrashCheck;
}

interface CrashCheck {
  completed: number;
  foundAfterRestart: number;
  walBytesAtKill: number | null;
}

/** Runs completed, SIGKILL of the dev server right after the last, restart, runs counted. */
async function crashCheck(pragmas: Record<string, string>, count: number): Promise<CrashCheck> {
  const cli = await findTemporalCli();
  const dataDir = mkdtempSync(join(tmpdir(), 'bench-crash-'));
  const options = { cli, dataDir, port: await freePort(), uiPort: await freePort(), namespace: 'default', log: () => undefined, sqlitePragmas: pragmas };
  let server = await startDevServer(options);
  const model = await startModelServer((request) => ({ kind: 'stream', frames: textFrames(request.model, 'durable after a crash', { firstTokenDelayMs: 1, tokenDelayMs: 1 }) }));
  const connection = await Connection.connect({ address: server.address });
  const nativeConnection = await NativeConnection.connect({ address: server.address });
  const config = loadConfig({});
  const stack = await startStack({
    client: new Client({ connection }),
    nativeConnection,
    namespace: 'default',
    taskQueue: 'crash-check',
    model: { ...config.model, baseURL: model.baseURL, name: 'scripted', useDemo: false },
    limits: config.limits,
    toolSettings: config.tools,
    temporalUiUrl: server.uiUrl,
  });
  try {
    const runIds: string[] = [];
    for (let i = 0; i < count; i++) runIds.push((await runToEnd(stack.url, { input: `crash check ${i}`, tools: [] })).runId);
    const wal = join(dataDir, 'temporal.db-wal');
    const walBytesAtKill = existsSync(wal) ? statSync(wal).size : null;
    process.kill(server.pid!, 'SIGKILL');
    await server.stop();
    server = await startDevServer(options);
    const client = new Client({ connection });
    let foundAfterRestart = 0;
    for (const runId of runIds) {
      const description = await client.workflow.getHandle(runId).describe().catch(() => undefined);
      if (description?.status.name === 'COMPLETED') foundAfterRestart++;
    }
    return { completed: runIds.length, foundAfterRestart, walBytesAtKill };
  } finally {
    await stack.stop();
    await connection.close();
    await nativeConnection.close();
    await model.close();
    await server.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

const pooled = new Map<string, { direct: number[]; stack: number[]; signal: number[] }>();
const crashes = new Map<string, CrashCheck>();
for (let round = 0; round < rounds; round++) {
  for (const configuration of chosen) {
    const options: BenchTemporalOptions = configuration.pragmas === undefined ? {} : { file: configuration.pragmas };
    const temporal = await startBenchTemporal(options);
    try {
      const measured = await measureTtft(temporal, runs);
      const pool = pooled.get(configuration.name) ?? { direct: [], stack: [], signal: [] };
      pool.direct.push(...measured.raw.direct);
      pool.stack.push(...measured.raw.stack);
      pool.signal.push(measured.roundTrips.signal.p50);
      pooled.set(configuration.name, pool);
      console.log(`round ${round + 1} ${configuration.name}: added p50 ${ms(measured.added.p50)}, p99 ${ms(measured.added.p99)}; stack p50 ${ms(measured.stack.p50)}; signal p50 ${ms(measured.roundTrips.signal.p50)}`);
    } finally {
      await temporal.close();
    }
  }
}
if (crashRuns > 0) {
  for (const configuration of chosen) {
    if (configuration.pragmas === undefined) continue;
    const check = await crashCheck(configuration.pragmas, crashRuns);
    crashes.set(configuration.name, check);
    console.log(`crash check ${configuration.name}: ${check.foundAfterRestart}/${check.completed} completed runs found after kill -9 and restart (temporal.db-wal: ${check.walBytesAtKill === null ? 'none' : `${check.walBytesAtKill} bytes`} at the kill)`);
  }
}

const npmStartKey = JSON.stringify(devServerSqlitePragmas);
const rows: Row[] = chosen.map((configuration) => {
  const pool = pooled.get(configuration.name)!;
  return {
    name: configuration.name,
    storage: describe(configuration),
    npmStart: configuration.pragmas !== undefined && JSON.stringify(configuration.pragmas) === npmStartKey,
    runs: pool.stack.length,
    stack: summarize(pool.stack),
    added: summarize(pool.stack.map((time, index) => time - pool.direct[index]!)),
    signal: summarize(pool.signal),
    ...(crashes.has(configuration.name) ? { crash: crashes.get(configuration.name) } : {}),
  };
});

const table = rows
  .map((row) => {
    const crash = row.crash ? `${row.crash.foundAfterRestart}/${row.crash.completed}` : '—';
    return `| ${row.storage}${row.npmStart ? ' (npm start)' : ''} | ${row.runs} | ${ms(row.stack.p50)} | ${ms(row.stack.p99)} | ${ms(row.added.p50)} | ${ms(row.added.p99)} | ${ms(row.signal.p50)} | ${crash} |`;
  })
  .join('\n');
const page = `# SQLite pragmas for the embedded Temporal

Reproduce: \`npx tsx bench/sqlite-pragmas.ts\` (BENCH_RUNS=${runs}, BENCH_ROUNDS=${rounds}, BENCH_CRASH_RUNS=${crashRuns}).
Time to first token through the stack (the TTFT scenario: a model with a 100 ms first-token
delay) against a dev server with each storage, and a crash check: completed runs still there
after a SIGKILL of the dev server right after the last one and a restart on the same file.

| Temporal's storage | pairs | stack TTFT p50 | stack TTFT p99 | added p50 | added p99 | signal round trip p50 | completed runs kept after kill -9 |
| --- | --- | --- | --- | --- | --- | --- | --- |
${table}
`;
const dir = join(import.meta.dirname, 'results', 'partial');
mkdirSync(dir, { recursive: true });
writeFileSync(join(dir, 'sqlite-pragmas.json'), `${JSON.stringify({ date: new Date().toISOString(), runs, rounds, crashRuns, rows }, null, 2)}\n`);
writeFileSync(join(dir, 'sqlite-pragmas.md'), page);
console.log(page);
console.log(`written: ${join(dir, 'sqlite-pragmas.md')}`);
