import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readdirSync, readFileSync, readSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { Client, Connection } from '@temporalio/client';
import { findTemporalCli } from '../src/temporal/cli';
import { devServerSqlitePragmas, sqlitePragmaArgs, startDevServer, type DevServer } from '../src/temporal/dev-server';
import { assembleText, readSse } from './helpers/sse';
import { ensureDebianPackage } from '../deploy/debian';
import { startStackOnDevServer } from './helpers/dev-server-stack';
import { installQuietRuntime } from './helpers/temporal';
import { freePort } from '../src/temporal/free-port';

// The embedded dev server (npm start's) runs its SQLite file with devServerSqlitePragmas, and a
// run completed before a kill -9 of the dev server is still there when it starts again.

const cleanups: Array<() => Promise<unknown>> = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
});

/**
 * Bytes 18 and 19 of a SQLite database header: the file format write and read versions, 1 for a
 * rollback journal, 2 for a write-ahead log (https://www.sqlite.org/fileformat.html).
 */
function headerJournalVersions(file: string): [number, number] {
  const header = Buffer.alloc(100);
  const fd = openSync(file, 'r');
  try {
    readSync(fd, header, 0, 100, 0);
  } finally {
    closeSync(fd);
  }
  assert.equal(header.subarray(0, 16).toString('latin1'), 'SQLite format 3\0');
  return [header[18]!, header[19]!];
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

test('when npm start runs its embedded Temporal, then its SQLite file is in WAL mode with synchronous=NORMAL, and runs completed before a kill -9 of the dev server are still there after a restart', async () => {
  installQuietRuntime();
  assert.deepEqual({ ...devServerSqlitePragmas }, { journal_mode: 'WAL', synchronous: 'NORMAL' });
  const cli = await findTemporalCli();
  const dataDir = mkdtempSync(join(tmpdir(), 'dev-server-pragmas-'));
  cleanups.push(async () => rmSync(dataDir, { recursive: true, force: true }));
  const options = { cli, dataDir, port: await freePort(), uiPort: await freePort(), namespace: 'default', log: () => undefined };
  let server: DevServer = await startDevServer(options);
  cleanups.push(() => server.stop());
  const db = join(dataDir, 'temporal.db');

  // The server was given the pragmas, and they took effect: a WAL database has its -wal and -shm
  // files beside it while open, and says so in its header.
  if (server.pid !== undefined && existsSync(`/proc/${server.pid}/cmdline`)) {
    const commandLine = readFileSync(`/proc/${server.pid}/cmdline`, 'utf8').split('\0');
    const pragmaArgs = sqlitePragmaArgs();
    for (let i = 0; i < pragmaArgs.length; i += 2) {
      assert.ok(commandLine.some((arg, index) => arg === pragmaArgs[i] && commandLine[index + 1] === pragmaArgs[i + 1]), `the dev server runs with ${pragmaArgs[i]} ${pragmaArgs[i + 1]}`);
    }
  }
  assert.ok(existsSync(`${db}-wal`), 'temporal.db-wal exists');
  assert.ok(existsSync(`${db}-shm`), 'temporal.db-shm exists');
  assert.deepEqual(headerJournalVersions(db), [2, 2], 'the database header says WAL');

  const text = Array.from({ length: 20 }, (_, index) => `k${index}`).join(' ');
  const started = await startStackOnDevServer(server, 'pragmas', text, { firstTokenDelayMs: 1, tokenDelayMs: 1 });
  cleanups.push(...started.cleanups);
  const { stack } = started;

  const runIds: string[] = [];
  for (let i = 0; i < 5; i++) {
    const created = await fetch(`${stack.url}/v1/runs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ input: `run ${i}`, tools: [] }) });
    const { runId } = (await created.json()) as { runId: string };
    const { events } = await readSse(`${stack.url}/v1/runs/${runId}/events`);
    assert.equal(events.at(-1)!.event, 'run.completed');
    assert.equal([...assembleText(events).values()].join(''), text);
    runIds.push(runId);
  }
  // The commits went to the write-ahead log (checkpointed into temporal.db only every ~1000 pages).
  assert.ok(statSync(`${db}-wal`).size > 0, 'the runs were written to temporal.db-wal');

  // Right after the last run completed: SIGKILL, no shutdown, nothing flushed by the server.
  const pid = server.pid!;
  process.kill(pid, 'SIGKILL');
  await server.stop();
  for (const deadline = Date.now() + 10_000; alive(pid) && Date.now() < deadline; ) await new Promise((resolve) => setTimeout(resolve, 50));
  assert.equal(alive(pid), false, 'the dev server was killed');

  server = await startDevServer(options);
  assert.notEqual(server.pid, pid);
  assert.deepEqual(headerJournalVersions(db), [2, 2], 'still WAL after the restart');
  const { client } = started;
  for (const runId of runIds) {
    const description = await client.workflow.getHandle(runId).describe();
    assert.equal(description.status.name, 'COMPLETED', `run ${runId} completed before the kill is still completed`);
    const run = (await (await fetch(`${stack.url}/v1/runs/${runId}`)).json()) as { status: string; output?: string };
    assert.equal(run.status, 'completed');
    assert.equal(run.output, text);
  }
});

// synchronous is per connection and leaves no trace in the files; what it changes is whether a
// commit waits for an fsync. Counted with strace (installed from Debian when missing).
test('when the embedded Temporal commits writes, then with synchronous=NORMAL in WAL mode it does not fsync each commit', async () => {
  ensureDebianPackage('strace');
  const probe = spawnSync('strace', ['-f', '-e', 'trace=fsync', '-o', '/dev/null', 'true'], { stdio: 'ignore' });
  assert.equal(probe.status, 0, 'strace can trace processes here');
  installQuietRuntime();
  const cli = await findTemporalCli();
  const dataDir = mkdtempSync(join(tmpdir(), 'dev-server-fsync-'));
  cleanups.push(async () => rmSync(dataDir, { recursive: true, force: true }));
  // Port 0, as TEMPORAL_PORT=0 gives it: free ports, chosen for the CLI (which wants numbers).
  const server = await startDevServer({ cli, dataDir, port: 0, uiPort: 0, namespace: 'default', log: () => undefined });
  cleanups.push(() => server.stop());
  assert.match(server.address, /^127\.0\.0\.1:[1-9]\d*$/);
  assert.match(server.uiUrl, /^http:\/\/localhost:[1-9]\d*$/);
  const connection = await Connection.connect({ address: server.address });
  cleanups.push(() => connection.close());
  const client = new Client({ connection });
  // A workflow no worker runs: each signal is a persisted write (with SQLite's default pragmas
  // each costs 8 fsyncs; with synchronous=FULL in WAL mode, 2).
  const handle = await client.workflow.start('nobody', { taskQueue: 'no-worker-fsync', workflowId: 'fsync-count' });
  cleanups.push(() => handle.terminate());
  await handle.signal('warm-up');
  const out = join(dataDir, 'strace.txt');
  const threads = readdirSync(`/proc/${server.pid}/task`).flatMap((tid) => ['-p', tid]);
  const strace = spawn('strace', ['-c', '-f', '-e', 'trace=fsync,fdatasync,pwrite64', '-o', out, ...threads], { stdio: 'ignore' });
  const straceExited = new Promise((resolve) => strace.once('exit', resolve));
  await new Promise((resolve) => setTimeout(resolve, 1500));
  const writes = 30;
  for (let i = 0; i < writes; i++) await handle.signal('ping');
  await new Promise((resolve) => setTimeout(resolve, 300));
  strace.kill('SIGINT');
  await straceExited;
  const summary = readFileSync(out, 'utf8');
  const calls = (name: string) => Number(new RegExp(`^\\s*[\\d.]+\\s+[\\d.]+\\s+\\d+\\s+(\\d+)(?:\\s+\\d+)?\\s+${name}$`, 'm').exec(summary)?.[1] ?? 0);
  // The trace saw the database's writes (SQLite writes pages with pwrite), so it was attached.
  assert.ok(calls('pwrite64') >= writes, `strace saw the database writes:\n${summary}`);
  const syncs = calls('fsync') + calls('fdatasync');
  // A WAL checkpoint, if one falls in the window, syncs a few times; one per commit would be >= 30.
  assert.ok(syncs < writes / 3, `${syncs} fsyncs for ${writes} persisted writes:\n${summary}`);
});
