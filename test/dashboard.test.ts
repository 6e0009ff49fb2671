import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { collectTranscript, createClient } from '../src/client';
import { textFrames } from '../src/demo-model/chunks';
import { startModelServer, type ModelServer } from '../src/demo-model/server';
import { toolCallScriptInput, toolScript } from '../src/demo-model/tool-call-script';
import { ensureDebianPackage } from '../deploy/debian';
import { freePort } from '../src/temporal/free-port';
import { startChild, type Child } from './helpers/processes';
import { startTemporal, type TestTemporal } from './helpers/temporal';

// The sample Grafana dashboard (docs/grafana/durable-agents.json) against a real Prometheus
// (Debian's) scraping npm start with a key of the metrics scope, as docs/observability.md says to
// set it up: every panel's query is valid PromQL, and every one whose metrics the runs exercised
// has data.

const operatorKey = `ops-${randomBytes(16).toString('hex')}`;
const dashboard = JSON.parse(readFileSync(new URL('../docs/grafana/durable-agents.json', import.meta.url), 'utf8')) as {
  panels: Array<{ type: string; title: string; targets?: Array<{ expr: string }> }>;
};
/** Metrics these runs do not make (no retry, no fallback, no cache, no second process to relay from). */
const notExercised = /retries_total|fallbacks_total|cache_hits_total|relay_connects_total/;

let temporal: TestTemporal;
let model: ModelServer;
let app: Child;
let prometheus: ChildProcess;
let prometheusUrl: string;
let prometheusLog = '';
let dataDir: string;

before(async () => {
  ensureDebianPackage('prometheus');
  temporal = await startTemporal();
  model = await startModelServer((request) => {
    const user = request.messages.find((message) => message.role === 'user')?.content ?? '';
    if (user.startsWith('{"calls"') && !request.messages.some((message) => message.role === 'tool')) return toolScript(request);
    return { kind: 'stream', frames: textFrames(request.model, 'Forty-two, as the tool said, streamed a few words at a time.', { firstTokenDelayMs: 5, tokenDelayMs: 2 }) };
  });
  app = startChild('src/main.ts', {
    TEMPORAL_ADDRESS: temporal.address,
    TASK_QUEUE: `dashboard-${randomUUID()}`,
    OPENAI_BASE_URL: model.baseURL,
    OPENAI_API_KEY: 'sk-dashboard',
    PORT: '0',
    API_KEYS: `ops:${operatorKey}`,
    LOG_FORMAT: 'json',
  });
  const apiUrl = new URL((await app.waitFor(/API: +(http:\/\/\S+)/))[1]!);
  dataDir = mkdtempSync(join(tmpdir(), 'prometheus-'));
  writeFileSync(
    join(dataDir, 'prometheus.yml'),
    [
      'global:',
      '  scrape_interval: 1s',
      'scrape_configs:',
      '  - job_name: durable-agents',
      '    authorization:',
      `      credentials: ${operatorKey}`,
      '    static_configs:',
      `      - targets: ['${apiUrl.host}']`,
      '',
    ].join('\n'),
  );
  const port = await freePort();
  prometheusUrl = `http://127.0.0.1:${port}`;
  prometheus = spawn('prometheus', [`--config.file=${join(dataDir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dataDir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`], { stdio: ['ignore', 'pipe', 'pipe'] });
  prometheus.stdout!.on('data', (chunk: Buffer) => (prometheusLog += chunk.toString()));
  prometheus.stderr!.on('data', (chunk: Buffer) => (prometheusLog += chunk.toString()));
});

after(async () => {
  if (prometheus && prometheus.exitCode === null) {
    const exited = new Promise((resolve) => prometheus.once('exit', resolve));
    prometheus.kill('SIGTERM');
    await exited;
  }
  await app?.stop();
  await model?.close();
  await temporal?.teardown();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

async function query(expr: string): Promise<{ status: string; data?: { result: Array<{ metric: Record<string, string>; value: [number, string] }> }; error?: string }> {
  const response = await fetch(`${prometheusUrl}/api/v1/query?query=${encodeURIComponent(expr)}`);
  return (await response.json()) as never;
}

/** Until Prometheus says `expr` is at least `atLeast` (it scrapes every second). */
async function waitForValue(expr: string, atLeast: number): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    try {
      const value = Number((await query(expr)).data?.result[0]?.value[1] ?? Number.NaN);
      if (value >= atLeast) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  assert.fail(`Prometheus never saw ${expr} >= ${atLeast}:\n${prometheusLog.slice(-3000)}`);
}

describe('the sample Grafana dashboard', () => {
  test('when Prometheus scrapes npm start through runs with tools, then every panel query is valid and those of exercised metrics have data', async () => {
    await waitForValue('up{job="durable-agents"}', 1);
    const client = createClient({ baseUrl: new URL((await app.waitFor(/API: +(http:\/\/\S+)/))[1]!).origin, apiKey: operatorKey });
    // One run, scraped; then another: every series the first made has grown within the window, so rates have data.
    for (const [index, expression] of ['6*7', '2+2'].entries()) {
      const created = await client.createRun({ input: toolCallScriptInput(['calculator', { expression }]), tools: ['calculator'] });
      assert.equal((await collectTranscript(client.streamRun(created.runId))).end?.event, 'run.completed');
      await waitForValue('sum(durable_agents_runs_ended_total{outcome="completed"})', index + 1);
    }

    const targets = dashboard.panels.flatMap((panel) => (panel.targets ?? []).map((target) => ({ panel: panel.title, expr: target.expr.replaceAll('$__rate_interval', '1m') })));
    assert.ok(targets.length >= 25, `the dashboard has ${targets.length} queries`);
    const empty: string[] = [];
    for (const { panel, expr } of targets) {
      const answer = await query(expr);
      assert.equal(answer.status, 'success', `${panel}: ${expr}: ${answer.error}`);
      const values = (answer.data?.result ?? []).map((sample) => sample.value[1]);
      if (!notExercised.test(expr) && !values.some((value) => value !== 'NaN')) empty.push(`${panel}: ${expr}`);
    }
    assert.deepEqual(empty, [], 'panels without data');
  });
});
