import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { Client, Connection } from '@temporalio/client';
import type { BackupManifest } from '../deploy/cluster/backup';
import { defaultPostgresDataDir, startCluster, type Cluster } from '../deploy/cluster/cluster';
import { spareNodeAddresses } from '../deploy/cluster/node-addresses';
import { parsePayloadKeys, temporalDataConverter } from '../src/codec';
import { collectTranscript, createClient, type DurableAgentsClient } from '../src/client';
import { textFrames, toolCallFrames } from '../src/demo-model/chunks';
import type { RunEvent } from '../src/shared/events';
import { startModelServer, type ChatRequest, type Reply } from '../src/demo-model/server';
import { startChild } from './helpers/processes';

// A backup of the cluster (npm run cluster:backup) restored into a new cluster: a long run that
// completed before it reads the same, step by step and event by event, and is listed; a run that
// was in the middle of a tool call when the cluster stopped completes on the new cluster.

const fast = { firstTokenDelayMs: 0, tokenDelayMs: 0 };
const fileBytes = 150 * 1024;
const longSteps = 40;

/** `read N`: read_file once a step, N-1 times, then an answer. `wait N`: the wait tool, then an answer. */
function reply(request: ChatRequest): Reply {
  const userIndex = request.messages.findLastIndex((message) => message.role === 'user');
  const [scenario, count] = String(request.messages[userIndex]?.content ?? '').split(' ');
  const calls = request.messages.slice(userIndex + 1).flatMap((message) => (message.tool_calls as Array<{ id: string }> | undefined) ?? []);
  if (scenario === 'read' && calls.length + 1 < Number(count)) {
    const step = calls.length + 1;
    return { kind: 'stream', frames: [...textFrames(request.model, `Step ${step}: reading. `, fast).slice(0, -1), ...toolCallFrames(request.model, [{ id: `call_read_${step}`, name: 'read_file', arguments: JSON.stringify({ path: 'big.txt', maxBytes: fileBytes }) }], fast)] };
  }
  if (scenario === 'wait' && calls.length === 0) return { kind: 'stream', frames: toolCallFrames(request.model, [{ id: 'call_wait', name: 'wait', arguments: JSON.stringify({ seconds: Number(count) }) }], fast) };
  return { kind: 'stream', frames: textFrames(request.model, `Done after ${calls.length} calls.`, fast) };
}

/** Every step of a run, page by page. */
async function allSteps(api: DurableAgentsClient, runId: string) {
  const steps: unknown[] = [];
  let status = '';
  for (let fromStep: number | undefined = 1; fromStep !== undefined; ) {
    const page = await api.getRun(runId, { fromStep });
    status = page.status;
    steps.push(...page.steps);
    fromStep = page.nextStep;
  }
  return { status, steps };
}

describe('cluster backups', () => {
  test('when a stopped cluster is backed up and restored into a new one, then a long completed run reads the same, and a run stopped mid-tool completes there', async () => {
    const model = await startModelServer(reply);
    const workspace = mkdtempSync(join(tmpdir(), 'backup-workspace-'));
    const line = 'const value = computeSomethingUseful(input, options); // a line of a large source file\n';
    writeFileSync(join(workspace, 'big.txt'), line.repeat(Math.ceil(fileBytes / line.length)).slice(0, fileBytes));
    const temporary = (prefix: string) => mkdtempSync(join(tmpdir(), prefix));
    const [dirA, dirB, stranger, backup] = [temporary('cluster-a-'), temporary('cluster-b-'), temporary('cluster-c-'), temporary('cluster-backup-')];
    // Continues as new every 1 MB of history: a long run spans several executions.
    const appEnv = { OPENAI_BASE_URL: model.baseURL, OPENAI_API_KEY: 'sk-backup', WORKSPACE_DIR: workspace, RUN_HISTORY_MAX_BYTES: String(1024 * 1024) };
    const nodeAddresses = spareNodeAddresses();
    const quiet = () => undefined;
    const clusters: Cluster[] = [];
    try {
      const a = await startCluster({ dir: dirA, nodeAddresses, appEnv, log: quiet });
      clusters.push(a);
      const apiA = createClient({ baseUrl: a.url, apiKey: a.apiKey });

      const long = await apiA.createRun({ input: `read ${longSteps}`, maxSteps: longSteps, tools: ['read_file'] });
      const longLive = await collectTranscript(apiA.streamRun(long.runId));
      assert.equal(longLive.end?.event, 'run.completed', JSON.stringify(longLive.end));
      const longBefore = await allSteps(apiA, long.runId);
      assert.equal(longBefore.steps.length, 2 * longSteps - 1);
      /** The run's executions, as Temporal's visibility store lists them. */
      const executions = async (cluster: Cluster) => {
        const connection = await Connection.connect({ address: cluster.temporalAddress });
        try {
          const ids: string[] = [];
          const client = new Client({ connection, namespace: cluster.namespace, dataConverter: temporalDataConverter(parsePayloadKeys(cluster.secrets.PAYLOAD_KEYS)) });
          for await (const execution of client.workflow.list({ query: `WorkflowId = '${long.runId}'` })) ids.push(execution.runId);
          return ids.sort();
        } finally {
          await connection.close();
        }
      };
      const executionsBefore = await executions(a);
      assert.ok(executionsBefore.length > 1, `the long run continued as new (${executionsBefore.length} executions)`);

      // A run in the middle of its tool call when the cluster stops.
      const waiting = await apiA.createRun({ input: 'wait 6', tools: ['wait'] });
      const stream = apiA.streamRun(waiting.runId);
      for await (const event of stream) if (event.event === 'tool.progress') break;
      // As users run it: refused while the cluster runs, then taken once it is stopped.
      const backupCommand = async () => {
        const child = startChild('deploy/cluster/backup-main.ts', { CLUSTER_DIR: dirA, BACKUP_DIR: backup });
        return { code: await child.exited, output: child.output() };
      };
      const refused = await backupCommand();
      assert.equal(refused.code, 1, refused.output);
      assert.match(refused.output, /PostgreSQL is running \(pid \d+\): stop the cluster first/);
      await a.stop();
      clusters.pop();
      const taken = await backupCommand();
      assert.equal(taken.code, 0, taken.output);
      assert.match(taken.output, new RegExp(`^backup: ${backup} \\(4 history shards; payload keys k1, which it does not hold`, 'm'));
      const manifest = JSON.parse(readFileSync(join(backup, 'manifest.json'), 'utf8')) as BackupManifest;
      assert.equal(manifest.numHistoryShards, 4);
      assert.deepEqual(readdirSync(backup).sort(), ['manifest.json', 'temporal.dump', 'temporal_visibility.dump']);
      assert.equal(statSync(backup).mode & 0o777, 0o700, 'only its owner reads the backup');
      const manifestText = readFileSync(join(backup, 'manifest.json'), 'utf8');
      for (const secret of Object.values(a.secrets)) assert.ok(!manifestText.includes(secret.slice(secret.indexOf(':') + 1)), 'the manifest holds no secret');
      // The old cluster's data is gone: what follows reads the backup only.
      rmSync(a.postgresDataDir, { recursive: true, force: true });

      // A cluster without the old payload keys, or with other shards, refuses it before touching anything.
      await assert.rejects(startCluster({ dir: stranger, nodeAddresses, appEnv, restoreFrom: backup, log: quiet }), /encrypted with keys that PAYLOAD_KEYS .* does not have \(k1\)/);
      copyFileSync(join(dirA, 'secrets.env'), join(dirB, 'secrets.env'));
      await assert.rejects(startCluster({ dir: dirB, nodeAddresses, appEnv, restoreFrom: backup, numHistoryShards: 8, log: quiet }), /4 history shards and NUM_HISTORY_SHARDS is 8/);

      const b = await startCluster({ dir: dirB, nodeAddresses, appEnv, restoreFrom: backup, log: quiet });
      clusters.push(b);
      assert.equal(b.apiKey, a.apiKey);
      const apiB = createClient({ baseUrl: b.url, apiKey: b.apiKey });

      // The completed run: the same steps, the same events from the first, the same executions, listed.
      assert.deepEqual(await allSteps(apiB, long.runId), longBefore);
      const longAfter = await collectTranscript(apiB.streamRun(long.runId));
      assert.equal(longAfter.text, longLive.text);
      assert.deepEqual(longAfter.end, longLive.end);
      assert.deepEqual(await executions(b), executionsBefore);
      const listed = await apiB.listRuns({ limit: 10 });
      assert.ok(listed.runs.some((run) => run.runId === long.runId && run.status === 'completed'), 'the run is listed (visibility was restored too)');

      // The run stopped mid-tool: Temporal retries its call on the new cluster's workers, and it ends.
      const waitedEvents: RunEvent[] = [];
      const waited = await collectTranscript(apiB.streamRun(waiting.runId), (event) => void waitedEvents.push(event));
      assert.equal(waited.end?.event, 'run.completed', JSON.stringify(waited.end));
      const completedCall = waitedEvents.find((event) => event.event === 'tool.completed');
      assert.ok(completedCall?.event === 'tool.completed' && completedCall.data.result === 'waited 6 s' && completedCall.data.attempts === 2, `the call ran again, once: ${JSON.stringify(completedCall)}`);
      assert.equal(waited.text, 'Done after 1 calls.');
      assert.equal(model.requests.filter((request) => request.body.messages.some((message) => message.content === 'wait 6')).length, 2, 'its model steps ran once each');
    } finally {
      for (const cluster of clusters.reverse()) await cluster.stop();
      await model.close();
      for (const dir of [dirA, dirB, stranger]) rmSync(defaultPostgresDataDir(dir), { recursive: true, force: true });
      for (const dir of [dirA, dirB, stranger, backup, workspace]) rmSync(dir, { recursive: true, force: true });
    }
  });
});
