import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { runChaos } from '../bench/chaos';
import { defaultPostgresDataDir } from '../deploy/cluster/cluster';
import { spareNodeAddresses } from '../deploy/cluster/node-addresses';
import { collectTranscript, createClient } from '../src/client';
import { startChild } from './helpers/processes';
import { installQuietRuntime } from './helpers/temporal';

// The production topology (`npm run cluster`: two Temporal nodes on PostgreSQL, the Temporal UI,
// two workers, two API replicas, HAProxy in front), as users start it, and under the chaos run.

/** Processes whose environment names this cluster's directory: every part the cluster started. */
function processesOf(dir: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${entry}/environ`, 'latin1').split('\0').includes(`CLUSTER_DIR=${dir}`)) pids.push(Number(entry));
    } catch {
      // Gone, or not ours to read.
    }
  }
  return pids;
}

describe('npm run cluster', () => {
  test('when started, then it prints its addresses, a streaming run with a tool completes through the load balancer, and SIGTERM stops every part of it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cluster-'));
    const child = startChild('deploy/cluster/main.ts', { CLUSTER_DIR: dir, CLUSTER_NODES: spareNodeAddresses().join(','), CLUSTER_PORT: '0', CLUSTER_TEMPORAL_PORT: '0', CLUSTER_UI_PORT: '0', CLUSTER_POSTGRES_PORT: '0' });
    try {
      const url = (await child.waitFor(/^load balancer: (http:\/\/\S+)/m, 600_000))[1]!;
      await child.waitFor(/SIGTERM or Ctrl-C stops all of it/);
      const output = child.output();
      for (const line of [/^API replicas: +http:\/\/\S+, http:\/\/\S+$/m, /^Temporal: +\S+ \(load balancer\) -> nodes \S+:7233, \S+:7233$/m, /^Temporal UI: +http:\/\/\S+$/m, /^PostgreSQL: +127\.0\.0\.1:\d+/m]) {
        assert.match(output, line);
      }
      assert.equal(output.match(/data in (\S+)\)$/m)?.[1], defaultPostgresDataDir(dir));
      // Secrets are in the cluster's file, readable by its owner only, and printed nowhere.
      const secrets = readFileSync(join(dir, 'secrets.env'), 'utf8');
      const apiKey = secrets.match(/^API_KEYS=local:(\S+)$/m)![1]!;
      for (const name of ['API_KEYS', 'POSTGRES_PWD', 'RELAY_SECRET', 'PAYLOAD_KEYS']) {
        const value = secrets.match(new RegExp(`^${name}=(\\S+)$`, 'm'))![1]!;
        assert.ok(!output.includes(value.slice(value.indexOf(':') + 1)), `${name} is not printed`);
      }
      assert.ok(processesOf(dir).length >= 8, 'PostgreSQL, two Temporal nodes, the UI, the demo model, two workers, two APIs and the load balancer run');

      // Through the load balancer, with the key: the demo model calls the calculator, then answers.
      const api = createClient({ baseUrl: url, apiKey });
      const run = await api.createRun({ input: 'What is 12*7?' });
      const transcript = await collectTranscript(api.streamRun(run.runId));
      assert.equal(transcript.end?.event, 'run.completed');
      assert.match(transcript.text, /84/);
      const unauthorized = await fetch(`${url}/v1/runs`);
      assert.equal(unauthorized.status, 401, 'the API behind the load balancer wants a key');
      const uiUrl = child.output().match(/^Temporal UI: +(http:\/\/[^/\s]+)/m)![1]!;
      assert.equal((await fetch(`${uiUrl}/api/v1/namespaces/default/workflows/${run.runId}`)).status, 200, 'the Temporal UI shows the run');
    } finally {
      await child.stop('SIGTERM');
      rmSync(defaultPostgresDataDir(dir), { recursive: true, force: true });
    }
    assert.match(child.output(), /cluster stopped/);
    assert.deepEqual(processesOf(dir), [], 'nothing of the cluster is left running');
    rmSync(dir, { recursive: true, force: true });
  });
});

describe('the cluster under chaos', () => {
  test('when a Temporal node, a worker and an API replica are killed while runs stream through the load balancer, then every run completes, every client has exactly the transcript, and no completed tool call runs again', async (t) => {
    installQuietRuntime();
    const lines: string[] = [];
    const report = await runChaos({
      stack: 'cluster',
      runs: 6,
      concurrency: 3,
      kills: 3,
      targets: ['temporal', 'worker', 'api'],
      killEveryMs: [2500, 4000],
      untilKilled: true,
      log: (line) => lines.push(line),
    });
    const context = `${JSON.stringify(report)}\n${lines.join('\n')}`;
    t.diagnostic(context);
    assert.deepEqual(report.kills, { temporal: 1, worker: 1, api: 1 }, context);
    assert.ok(report.runs >= 6, context);
    assert.equal(report.completed, report.runs, context);
    assert.equal(report.transcriptsEqual, report.runs, context);
    assert.equal(report.charsLost, 0, context);
    assert.equal(report.charsDuplicated, 0, context);
    assert.equal(report.sideEffectsNever, 0, `every run made its tool call\n${context}`);
    assert.equal(report.sideEffectsBeyondAttempts, 0, `a side effect ran only as often as Temporal started its call\n${context}`);
  });
});
