import assert from 'node:assert/strict';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { collectTranscript, createClient } from '../src/client';
import { textFrames } from '../src/demo-model/chunks';
import { startModelServer, type ModelServer } from '../src/demo-model/server';
import { toolCallScriptInput, toolScript } from '../src/demo-model/tool-call-script';
import { parseExposition, promtoolProblems, total, type Sample } from './helpers/metrics';
import { startChild, type Child } from './helpers/processes';
import { startTemporal, type TestTemporal } from './helpers/temporal';

// Prometheus metrics of a real split deployment (npm run worker, npm run api) and of npm start,
// through a full keyed run with tools: each figure equals what the run itself reports (its steps,
// its events, its history), the names pass promtool, the Temporal SDK's worker metrics are there,
// no secret is in them, and only operators (the metrics scope, METRICS_TOKEN) may read them.

const secrets = {
  operatorKey: `ops-${randomBytes(16).toString('hex')}`,
  tenantKey: `acme-${randomBytes(16).toString('hex')}`,
  modelKey: `sk-model-${randomBytes(16).toString('hex')}`,
  relaySecret: randomBytes(32).toString('hex'),
  metricsToken: randomBytes(24).toString('hex'),
};

const answer = 'The result is 42, and these words stream one by one so that a reader can watch them arrive.';

let temporal: TestTemporal;
let model: ModelServer;
let api: Child;
let worker: Child;
let apiUrl: string;
let workerMetricsUrl: string;
let common: Record<string, string>;

before(async () => {
  temporal = await startTemporal();
  model = await startModelServer((request) => {
    const user = request.messages.find((message) => message.role === 'user')?.content ?? '';
    const hasResults = request.messages.some((message) => message.role === 'tool');
    if (user.startsWith('{"calls"') && !hasResults) return toolScript(request);
    return { kind: 'stream', frames: textFrames(request.model, answer, { firstTokenDelayMs: 20, tokenDelayMs: 10 }, { prompt_tokens: 57, completion_tokens: 23 }) };
  });
  const keysFile = join(tmpdir(), `metrics-keys-${randomUUID()}.json`);
  const sha256 = (key: string) => createHash('sha256').update(key).digest('hex');
  writeFileSync(
    keysFile,
    JSON.stringify([
      { id: 'operator', sha256: sha256(secrets.operatorKey), tenant: 'ops', scopes: ['metrics'] },
      { id: 'acme', sha256: sha256(secrets.tenantKey), tenant: 'acme', scopes: ['runs:write', 'runs:read'] },
    ]),
  );
  common = {
    TEMPORAL_ADDRESS: temporal.address,
    TASK_QUEUE: `metrics-${randomUUID()}`,
    OPENAI_BASE_URL: model.baseURL,
    OPENAI_API_KEY: secrets.modelKey,
    MODEL: 'scripted-model',
    RELAY_SECRET: secrets.relaySecret,
    LOG_FORMAT: 'json',
  };
  // The worker's /metrics off loopback, so behind METRICS_TOKEN.
  worker = startChild('src/worker.ts', { ...common, STREAM_PORT: '0', METRICS_HOST: '0.0.0.0', METRICS_PORT: '0', METRICS_TOKEN: secrets.metricsToken });
  api = startChild('src/api/server.ts', { ...common, PORT: '0', API_KEYS_FILE: keysFile });
  workerMetricsUrl = (await worker.waitFor(/metrics at (http:\/\/\S+\/metrics)/))[1]!;
  apiUrl = (await api.waitFor(/API: (http:\/\/\S+?)[ ;]/))[1]!;
});

after(async () => {
  await Promise.all([api, worker].map((child) => child?.stop()));
  await model?.close();
  await temporal?.teardown();
});

async function scrape(url: string, token: string): Promise<{ text: string; samples: Sample[] }> {
  const response = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
  const text = await response.text();
  assert.equal(response.status, 200, text);
  assert.match(response.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  return { text, samples: parseExposition(text) };
}

const apiMetrics = () => scrape(`${apiUrl}/metrics`, secrets.operatorKey);
const workerMetrics = () => scrape(workerMetricsUrl, secrets.metricsToken);

/** Scrapes until `check` holds (a gauge follows a close a moment later), or fails with the last figures. */
async function eventually(read: () => Promise<{ samples: Sample[] }>, check: (samples: Sample[]) => boolean, what: string) {
  const deadline = Date.now() + 10_000;
  let samples: Sample[] = [];
  while (Date.now() < deadline) {
    samples = (await read()).samples;
    if (check(samples)) return samples;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  assert.fail(`${what}: not within 10 s`);
}

describe('Prometheus metrics of a split deployment', () => {
  test('when a keyed run with tools streams to its end, then the worker and the API count exactly what the run reports', async () => {
    const client = createClient({ baseUrl: apiUrl, apiKey: secrets.tenantKey });
    const created = await client.createRun({ input: toolCallScriptInput(['calculator', { expression: '6*7' }], ['calculator', { expression: '2+2' }]), tools: ['calculator'] });
    let deltas = 0;
    let checkedWhileOpen = false;
    const transcript = await collectTranscript(client.streamRun(created.runId), async (event) => {
      if (event.event !== 'text.delta') return;
      deltas++;
      if (!checkedWhileOpen) {
        checkedWhileOpen = true;
        // While this stream is open, the API counts it, and Temporal's visibility the running run.
        const open = (await apiMetrics()).samples;
        assert.equal(total(open, 'durable_agents_sse_subscribers', { kind: 'events' }), 1);
        assert.equal(total(open, 'durable_agents_runs_running'), 1);
      }
    });
    assert.equal(transcript.end?.event, 'run.completed');
    assert.ok(checkedWhileOpen && deltas > 5);
    const run = await client.getRun(created.runId);
    const llmSteps = run.steps.filter((step) => step.kind === 'llm');
    const history = await temporal.client.workflow.getHandle(created.runId).describe();

    const { text: workerText, samples: worker } = await workerMetrics();
    const labels = { model: 'scripted-model', provider: 'openai' };
    assert.equal(total(worker, 'durable_agents_runs_started_total', { kind: 'run' }), 1);
    assert.equal(total(worker, 'durable_agents_runs_ended_total', { kind: 'run', outcome: 'completed' }), 1);
    // As the run's last workflow task began: its WorkflowTaskCompleted and WorkflowExecutionCompleted come after.
    assert.equal(total(worker, 'durable_agents_run_history_events_sum', { outcome: 'completed' }), history.historyLength - 2, 'the history Temporal reports for the run');
    assert.equal(total(worker, 'durable_agents_model_step_duration_seconds_count', { ...labels, outcome: 'completed' }), llmSteps.length);
    // Time to first token: one per step that streamed text, the same time the run's steps say.
    const firstTokens = llmSteps.flatMap((step) => (step.firstTokenMs === undefined ? [] : [step.firstTokenMs]));
    assert.equal(total(worker, 'durable_agents_model_time_to_first_token_seconds_count', labels), firstTokens.length);
    const ttftSum = total(worker, 'durable_agents_model_time_to_first_token_seconds_sum', labels);
    assert.ok(Math.abs(ttftSum * 1000 - firstTokens.reduce((sum, ms) => sum + ms, 0)) <= 2 * firstTokens.length, `TTFT ${ttftSum} s vs steps ${firstTokens}`);
    // Every delta the reader got, and the gaps between them.
    assert.equal(total(worker, 'durable_agents_model_streamed_deltas_total', labels), deltas);
    assert.equal(total(worker, 'durable_agents_model_inter_token_seconds_count', labels), deltas - firstTokens.length);
    const usage = llmSteps.reduce((sum, step) => ({ input: sum.input + (step.usage?.promptTokens ?? 0), output: sum.output + (step.usage?.completionTokens ?? 0) }), { input: 0, output: 0 });
    assert.equal(total(worker, 'durable_agents_model_tokens_total', { ...labels, type: 'input' }), usage.input);
    assert.equal(total(worker, 'durable_agents_model_tokens_total', { ...labels, type: 'output' }), usage.output);
    assert.equal(total(worker, 'durable_agents_tool_call_duration_seconds_count', { tool: 'calculator', outcome: 'completed' }), 2);
    assert.equal(total(worker, 'durable_agents_tool_call_retries_total'), 0);
    // The Temporal SDK's own worker metrics, in seconds and with _total, next to ours.
    assert.ok(total(worker, 'temporal_activity_execution_latency_seconds_count') >= llmSteps.length + 2);
    assert.ok(worker.some((sample) => sample.name === 'temporal_worker_task_slots_available'));
    assert.ok(total(worker, 'temporal_workflow_completed_total') >= 1);

    const { text: apiText } = await apiMetrics();
    const api = await eventually(apiMetrics, (samples) => total(samples, 'durable_agents_sse_subscribers', { kind: 'events' }) === 0, 'the closed stream is no longer counted');
    assert.equal(total(api, 'durable_agents_runs_running'), 0);
    assert.equal(total(api, 'durable_agents_http_requests_total', { method: 'POST', route: '/v1/runs', status: '202' }), 1);
    assert.equal(total(api, 'durable_agents_http_request_duration_seconds_count', { method: 'POST', route: '/v1/runs' }), 1);
    assert.equal(total(api, 'durable_agents_http_requests_total', { method: 'GET', route: '/v1/runs/:runId/events', status: '200' }), 1);
    assert.ok(total(api, 'durable_agents_relay_connects_total', { result: 'connected' }) >= 1, 'the API read the worker\'s stream');
    assert.equal(total(api, 'durable_agents_relay_heartbeat_fallback_events_total'), 0);
    // The API runs no worker: none of the SDK's worker metrics, and no runs counted there.
    assert.equal(apiText.includes('temporal_worker_task_slots'), false);

    for (const [who, text] of [['worker', workerText], ['api', apiText]] as const) {
      assert.equal(promtoolProblems(text), '', `promtool check metrics on the ${who}'s exposition`);
      for (const [name, secret] of Object.entries(secrets)) assert.equal(text.includes(secret), false, `${name} in the ${who}'s metrics`);
      assert.equal(text.includes(created.streamToken ?? 'no stream token'), false);
    }
  });

  test('when a caller is not an operator, then /metrics refuses it, on the API and on the worker', async () => {
    const refused = async (url: string, authorization?: string) => {
      const response = await fetch(url, { headers: authorization ? { authorization } : {} });
      return [response.status, ((await response.json()) as { error: { code: string } }).error.code];
    };
    assert.deepEqual(await refused(`${apiUrl}/metrics`), [401, 'unauthorized']);
    assert.deepEqual(await refused(`${apiUrl}/metrics`, `Bearer ${secrets.tenantKey}`), [403, 'insufficient_scope']);
    const client = createClient({ baseUrl: apiUrl, apiKey: secrets.tenantKey });
    const created = await client.createRun({ input: 'Hello' });
    // A stream token reaches its one run, nothing else.
    assert.deepEqual(await refused(`${apiUrl}/metrics?token=${created.streamToken}`), [404, 'run_not_found']);
    // The worker's port off loopback: only METRICS_TOKEN.
    assert.deepEqual(await refused(workerMetricsUrl), [401, 'unauthorized']);
    assert.deepEqual(await refused(workerMetricsUrl, `Bearer ${secrets.operatorKey}`), [401, 'unauthorized']);
    assert.deepEqual(await refused(workerMetricsUrl.replace(/\/metrics$/, '/runs')), [404, 'not_found']);
    await collectTranscript(client.streamRun(created.runId));
  });

  test('when a worker would serve metrics off loopback without METRICS_TOKEN, then it does not start, and says why', async () => {
    const refused = startChild('src/worker.ts', { ...common, STREAM_PORT: '0', METRICS_HOST: '0.0.0.0' });
    assert.notEqual(await refused.exited, 0);
    assert.match(refused.output(), /METRICS_HOST: 0\.0\.0\.0 is not loopback: set METRICS_TOKEN/);
  });
});

describe('Prometheus metrics of npm start', () => {
  test('when the worker and the API share a process, then one /metrics says both; with METRICS=off there is none', async () => {
    const env = { ...common, TASK_QUEUE: `metrics-start-${randomUUID()}`, PORT: '0', API_KEYS: `ops:${secrets.operatorKey}`, STREAM_TOKEN_SECRET: secrets.relaySecret };
    const started = startChild('src/main.ts', env);
    try {
      const url = (await started.waitFor(/API: +(http:\/\/\S+)/))[1]!;
      const client = createClient({ baseUrl: url, apiKey: secrets.operatorKey });
      const created = await client.createRun({ input: 'Hello' });
      await collectTranscript(client.streamRun(created.runId));
      const { samples } = await scrape(`${url}/metrics`, secrets.operatorKey);
      assert.equal(total(samples, 'durable_agents_runs_ended_total', { outcome: 'completed' }), 1, 'the worker\'s figures');
      assert.equal(total(samples, 'durable_agents_http_requests_total', { method: 'POST', route: '/v1/runs' }), 1, 'the API\'s');
      assert.ok(samples.some((sample) => sample.name === 'temporal_worker_task_slots_available'), 'the SDK\'s');
    } finally {
      await started.stop();
    }
    const off = startChild('src/main.ts', { ...env, METRICS: 'off' });
    try {
      const url = (await off.waitFor(/API: +(http:\/\/\S+)/))[1]!;
      const response = await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${secrets.operatorKey}` } });
      assert.equal(response.status, 404);
    } finally {
      await off.stop();
    }
  });
});
