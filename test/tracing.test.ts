import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import proto from '@temporalio/proto';
import { Worker } from '@temporalio/worker';
import { collectTranscript, createClient } from '../src/client';
import { demoResponder } from '../src/demo-model/demo-script';
import { startModelServer, type ModelServer } from '../src/demo-model/server';
import { startTracing, type Tracing } from '../src/telemetry/tracing';
import { workflowBundle } from '../src/worker';
import { startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from './helpers/otlp-receiver';
import { freePort } from '../src/temporal/free-port';
import { startChild, type Child } from './helpers/processes';
import { startTestStack } from './helpers/stack';
import { startTemporal, type TestTemporal } from './helpers/temporal';

// OpenTelemetry traces of the real product (npm start, and npm run api + npm run worker) sent to a
// real OTLP/HTTP receiver: one trace per run, from the caller's traceparent through the API's
// request, the workflow, each model step and each tool call, with GenAI attributes equal to what
// the API reports for the run, and none of the secrets or the run's content anywhere in it.

type History = proto.temporal.api.history.v1.IHistory;
const { History } = proto.temporal.api.history.v1;

const secrets = {
  apiKey: `acme-${randomBytes(16).toString('hex')}`,
  modelKey: `sk-model-${randomBytes(16).toString('hex')}`,
  relaySecret: randomBytes(32).toString('hex'),
  streamTokenSecret: randomBytes(32).toString('hex'),
  payloadKey: randomBytes(32).toString('base64'),
};
const input = 'What is 12*7, wait 3 seconds and tell me the time in Asia/Tokyo';
const SERVER = 2;
const CLIENT = 3;

let temporal: TestTemporal;
let model: ModelServer;
let receiver: OtlpReceiver;
const children: Child[] = [];

before(async () => {
  temporal = await startTemporal();
  // The demo model's script over HTTP, behind a key: it calls the calculator, wait and time tools, then answers.
  model = await startModelServer(demoResponder({ firstTokenDelayMs: 5, tokenDelayMs: 1 }));
  receiver = await startOtlpReceiver();
});

after(async () => {
  await Promise.all(children.map((child) => child.stop()));
  await receiver?.close();
  await model?.close();
  await temporal?.teardown();
});

const common = () => ({
  TEMPORAL_ADDRESS: temporal.address,
  TASK_QUEUE: `tracing-${randomUUID()}`,
  OPENAI_BASE_URL: model.baseURL,
  OPENAI_API_KEY: secrets.modelKey,
  API_KEYS: `acme:${secrets.apiKey}`,
  STREAM_TOKEN_SECRET: secrets.streamTokenSecret,
  OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
  // Batches go out every 100 ms rather than 5 s: the test waits for them, not longer.
  OTEL_BSP_SCHEDULE_DELAY: '100',
});

/** A caller's own trace: the run's trace must continue it. */
function callerTrace() {
  const traceId = randomBytes(16).toString('hex');
  const spanId = randomBytes(8).toString('hex');
  return { traceId, spanId, traceparent: `00-${traceId}-${spanId}-01` };
}

interface TracedRun {
  runId: string;
  streamToken: string;
  caller: ReturnType<typeof callerTrace>;
  run: any;
  transcriptText: string;
}

/** Starts the run with a traceparent, streams it to the end with its stream token (as a browser does), reads it back. */
async function traceOneRun(apiUrl: string): Promise<TracedRun> {
  const caller = callerTrace();
  const response = await fetch(`${apiUrl}/v1/runs`, {
    method: 'POST',
    headers: { authorization: `Bearer ${secrets.apiKey}`, 'content-type': 'application/json', traceparent: caller.traceparent },
    body: JSON.stringify({ input }),
  });
  assert.equal(response.status, 202, await response.clone().text());
  const created = (await response.json()) as { runId: string; streamToken: string };
  const transcript = await collectTranscript(createClient({ baseUrl: apiUrl }).streamRun(created.runId, { streamToken: created.streamToken }));
  assert.equal(transcript.end?.event, 'run.completed');
  const run = await createClient({ baseUrl: apiUrl, apiKey: secrets.apiKey }).getRun(created.runId);
  return { runId: created.runId, streamToken: created.streamToken, caller, run, transcriptText: transcript.text };
}

const llmSteps = (run: any) => (run.steps as any[]).filter((step) => step.kind === 'llm');
const toolCalls = (run: any) => (run.steps as any[]).filter((step) => step.kind === 'tools').flatMap((step) => step.calls as any[]);

/** The run's spans have arrived: its workflow span (sent when the run ends), a chat span per model step, an execute_tool span per call. */
async function runSpans(traced: TracedRun): Promise<ReceivedSpan[]> {
  const steps = llmSteps(traced.run).length;
  const calls = toolCalls(traced.run).length;
  const ofRun = (spans: ReceivedSpan[]) => spans.filter((span) => span.traceId === traced.caller.traceId);
  await receiver.waitFor((spans) => {
    const mine = ofRun(spans);
    return (
      mine.some((span) => span.name === 'RunWorkflow:agentTurn') &&
      mine.filter((span) => span.name.startsWith('chat ')).length >= steps &&
      mine.filter((span) => span.name.startsWith('execute_tool ')).length >= calls &&
      mine.some((span) => span.name === 'POST /v1/runs')
    );
  });
  return ofRun(receiver.spans);
}

/** The spans anywhere that are about this run's execution (not reads of it): they must all be in its trace. */
const executionSpanNames = /^(StartWorkflow|RunWorkflow|StartActivity|RunActivity|chat |execute_tool )/;
function aboutRun(span: ReceivedSpan, runId: string): boolean {
  return span.attributes.temporalWorkflowId === runId || span.attributes.workflowId === runId || span.attributes['durable_agents.run.id'] === runId;
}

function assertRunTrace(traced: TracedRun, spans: ReceivedSpan[]) {
  const { run, caller, runId } = traced;
  const byId = new Map(spans.map((span) => [span.spanId, span]));
  const parentOf = (span: ReceivedSpan) => (span.parentSpanId ? byId.get(span.parentSpanId) : undefined);

  // Rooted at the API's request, itself a child of the caller's span.
  const post = spans.filter((span) => span.name === 'POST /v1/runs');
  assert.equal(post.length, 1, 'one request span for the run\'s start');
  const request = post[0]!;
  assert.equal(request.parentSpanId, caller.spanId, 'the request continues the caller\'s traceparent');
  assert.equal(request.kind, SERVER);
  assert.equal(request.attributes['http.request.method'], 'POST');
  assert.equal(request.attributes['http.route'], '/v1/runs');
  assert.equal(request.attributes['http.response.status_code'], 202);
  for (const span of spans) {
    if (span !== request) assert.ok(parentOf(span), `${span.name}'s parent is in the run's trace`);
  }

  // Every span about the run's execution, wherever it came from, is in this one trace.
  const executions = receiver.spans.filter((span) => executionSpanNames.test(span.name) && aboutRun(span, runId));
  assert.ok(executions.length > 0);
  for (const span of executions) assert.equal(span.traceId, caller.traceId, `${span.name} is in the run's trace`);

  const start = spans.find((span) => span.name === 'StartWorkflow:agentTurn');
  assert.equal(start && parentOf(start), request, 'the API starts the workflow within its request');
  const workflows = spans.filter((span) => span.name === 'RunWorkflow:agentTurn');
  assert.equal(workflows.length, 1);
  const workflow = workflows[0]!;
  assert.equal(parentOf(workflow), start, 'the workflow runs in the trace its start carried');
  assert.equal(workflow.attributes.workflowId, runId);
  assert.equal(workflow.attributes.memo, undefined, 'the memo (the run\'s task) is not copied onto workflow spans');

  /** The RunActivity span of a GenAI span: its parent, scheduled by the workflow (StartActivity, a child of the workflow's span). */
  const activityOf = (span: ReceivedSpan, activityType: string) => {
    const activity = parentOf(span);
    assert.equal(activity?.name, `RunActivity:${activityType}`, `${span.name} is a child of its activity`);
    const scheduled = parentOf(activity!);
    assert.equal(scheduled?.name, `StartActivity:${activityType}`);
    assert.equal(parentOf(scheduled!), workflow);
    return activity!;
  };

  // A chat span per model step, with the numbers the API reports for the step.
  const steps = llmSteps(run);
  assert.ok(steps.length >= 2, 'the run had a tool step and an answer');
  const chats = spans.filter((span) => span.name.startsWith('chat '));
  assert.equal(chats.length, steps.length, 'one chat span per model step');
  assert.equal(spans.filter((span) => span.name === 'RunActivity:llmStep').length, steps.length, 'one activity span per model step');
  for (const step of steps) {
    const chat = chats.find((span) => span.attributes['durable_agents.step'] === step.step);
    assert.ok(chat, `a chat span for step ${step.step}`);
    activityOf(chat, 'llmStep');
    assert.equal(chat.name, `chat ${step.model}`);
    assert.equal(chat.kind, CLIENT);
    assert.equal(chat.attributes['gen_ai.operation.name'], 'chat');
    assert.equal(chat.attributes['gen_ai.provider.name'], 'openai');
    assert.equal(chat.attributes['gen_ai.system'], 'openai');
    assert.equal(chat.attributes['gen_ai.request.model'], step.model);
    assert.deepEqual(chat.attributes['gen_ai.response.finish_reasons'], [step.finishReason]);
    assert.equal(chat.attributes['gen_ai.usage.input_tokens'], step.usage.promptTokens);
    assert.equal(chat.attributes['gen_ai.usage.output_tokens'], step.usage.completionTokens);
    assert.equal(chat.attributes['gen_ai.response.time_to_first_chunk'], step.firstTokenMs === undefined ? undefined : step.firstTokenMs / 1000);
    assert.equal(chat.events.some((event) => event.name === 'gen_ai.first_token'), step.firstTokenMs !== undefined, 'the first token is an event when there was text');
    assert.equal(chat.status.code ?? 0, 0, 'no error status');
  }
  assert.ok(steps.some((step) => step.firstTokenMs !== undefined), 'the answer had a time to first token');

  // An execute_tool span per call.
  const calls = toolCalls(run);
  assert.deepEqual(calls.map((call) => call.name).sort(), ['calculator', 'current_time', 'wait']);
  const tools = spans.filter((span) => span.name.startsWith('execute_tool '));
  assert.equal(tools.length, calls.length, 'one execute_tool span per call');
  for (const call of calls) {
    const tool = tools.find((span) => span.attributes['gen_ai.tool.call.id'] === call.callId);
    assert.ok(tool, `a span for call ${call.callId}`);
    activityOf(tool, `tool:${call.name}`);
    assert.equal(tool.name, `execute_tool ${call.name}`);
    assert.equal(tool.attributes['gen_ai.operation.name'], 'execute_tool');
    assert.equal(tool.attributes['gen_ai.tool.name'], call.name);
  }
}

/** Nothing the receiver got holds a credential or the run's content (task, answer, tool arguments). */
function assertNothingSecret(traced: TracedRun) {
  const exported = receiver.bodies.join('\n');
  assert.ok(exported.length > 0);
  for (const [name, secret] of Object.entries({ ...secrets, streamToken: traced.streamToken })) {
    assert.ok(!exported.includes(secret), `the ${name} is in no span`);
  }
  assert.ok(!exported.includes('Asia/Tokyo'), 'neither the task nor the tool arguments are in a span');
  assert.ok(traced.transcriptText.length > 20);
  assert.ok(!exported.includes(traced.transcriptText.slice(0, 40)), 'the answer is in no span');
}

/** Records a finished run's history, for replays. */
async function historyOf(runId: string): Promise<History> {
  return (await temporal.client.workflow.getHandle(runId).fetchHistory()) as History;
}

let tracedHistory: History | undefined;
let tracedRunId = '';

describe('traces of npm start', () => {
  let main: Child;
  let apiUrl: string;
  before(async () => {
    main = startChild('src/main.ts', { ...common(), PORT: String(await freePort()) });
    children.push(main);
    apiUrl = (await main.waitFor(/API:\s+(http:\/\/\S+)/))[1]!;
  });

  test('when a run that calls tools is started with a traceparent, then one trace joins the request, the workflow, each model step and each tool call', async () => {
    const traced = await traceOneRun(apiUrl);
    const spans = await runSpans(traced);
    assertRunTrace(traced, spans);
    assert.equal(spans.find((span) => span.name === 'POST /v1/runs')!.resource['service.name'], 'durable-agents');

    // The stream's request has its span too: its route's template, never the token in its query.
    await receiver.waitFor((all) => all.some((span) => span.attributes['http.route'] === '/v1/runs/:runId/events'));
    assertNothingSecret(traced);
    // Reads of a run (the stream describes it before its first event) make no spans: only what changes it.
    assert.deepEqual(receiver.spans.filter((span) => /^(DescribeWorkflow|QueryWorkflow)/.test(span.name)).map((span) => span.name), []);
    tracedHistory = await historyOf(traced.runId);

    // A malformed traceparent is ignored: the request is answered and starts a trace of its own.
    const listed = await fetch(`${apiUrl}/v1/runs?limit=1`, { headers: { authorization: `Bearer ${secrets.apiKey}`, traceparent: `00-${'z'.repeat(32)}-${traced.caller.spanId}-01` } });
    assert.equal(listed.status, 200);
    const [list] = (await receiver.waitFor((spans) => spans.some((span) => span.name === 'GET /v1/runs'))).filter((span) => span.name === 'GET /v1/runs');
    assert.equal(list!.parentSpanId, undefined);
    assert.notEqual(list!.traceId, traced.caller.traceId);
    assert.equal(list!.attributes['http.response.status_code'], 200);
    tracedRunId = traced.runId;
  });

  test('when several runs are traced at once, then each run\'s spans stay in its own trace, at the time they happened', async () => {
    // The workflows on a worker thread share one tracer and one context manager
    // (src/telemetry/workflow-spans-preload.ts): runs interleaved on it must not cross.
    const startedMs = Date.now();
    const runs = await Promise.all(Array.from({ length: 4 }, () => traceOneRun(apiUrl)));
    const endedMs = Date.now();
    assert.equal(new Set(runs.map((traced) => traced.caller.traceId)).size, runs.length);
    for (const traced of runs) {
      const spans = await runSpans(traced);
      assertRunTrace(traced, spans);
      // Workflow spans are timed by the workflow's clock: within the test's own window.
      for (const span of spans.filter((span) => /^(RunWorkflow|StartActivity):/.test(span.name))) {
        const startMs = Number(BigInt(span.startTimeUnixNano) / 1_000_000n);
        assert.ok(startMs >= startedMs - 1000 && startMs <= endedMs + 1000, `${span.name} started at ${startMs}, outside ${startedMs}..${endedMs}`);
      }
    }
  });

  test('when a session has turns, then each turn is traced as a child workflow of the session, and the session replays with and without tracing', async () => {
    const api = createClient({ baseUrl: apiUrl, apiKey: secrets.apiKey });
    const headers = { authorization: `Bearer ${secrets.apiKey}`, 'content-type': 'application/json' };
    const created = await fetch(`${apiUrl}/v1/sessions`, { method: 'POST', headers, body: '{}' });
    assert.equal(created.status, 201);
    const { sessionId } = (await created.json()) as { sessionId: string };
    const turns: string[] = [];
    for (const question of ['What is 2*21?', 'And 3*3?']) {
      const sent = await fetch(`${apiUrl}/v1/sessions/${sessionId}/messages`, { method: 'POST', headers, body: JSON.stringify({ input: question }) });
      assert.equal(sent.status, 202);
      const { runId } = (await sent.json()) as { runId: string };
      assert.equal((await collectTranscript(api.streamRun(runId))).end?.event, 'run.completed');
      // A read between turns: queries run in the session's workflow (and must not change its next turn's id).
      assert.equal((await fetch(`${apiUrl}/v1/sessions/${sessionId}`, { headers })).status, 200);
      turns.push(runId);
    }
    await receiver.waitFor((spans) => turns.every((runId) => spans.some((span) => span.name === 'RunWorkflow:agentTurn' && span.attributes.workflowId === runId)));
    for (const runId of turns) {
      const turn = receiver.spans.find((span) => span.name === 'RunWorkflow:agentTurn' && span.attributes.workflowId === runId)!;
      await receiver.waitFor((spans) => spans.some((span) => span.spanId === turn.parentSpanId));
      const parent = receiver.spans.find((span) => span.spanId === turn.parentSpanId)!;
      assert.equal(parent.name, 'StartChildWorkflow:agentTurn', 'the session started the turn');
      assert.equal(parent.attributes.workflowId, sessionId);
      assert.ok(receiver.spans.some((span) => span.name.startsWith('chat ') && span.attributes['durable_agents.run.id'] === runId && span.traceId === turn.traceId), 'the turn\'s model calls are in its trace');
    }
    const history = await historyOf(sessionId);
    const tracing = await startTracing({ tracesEndpoint: `${receiver.url}/v1/traces` }, 'replay');
    try {
      await Worker.runReplayHistory({ workflowBundle: await workflowBundle({ workflowInterceptorModules: tracing!.worker.workflowInterceptorModules, preloadModules: tracing!.worker.workflowPreloadModules }), sinks: tracing!.worker.sinks() }, history, sessionId);
      await Worker.runReplayHistory({ workflowBundle: await workflowBundle() }, history, sessionId);
    } finally {
      await tracing?.shutdown();
    }
  });
});

describe('traces of a split deployment', () => {
  test('when the API and the worker are separate processes, then the run\'s trace still joins across them', async () => {
    // Payloads encrypted too: the key is in no span either.
    const env = { ...common(), RELAY_SECRET: secrets.relaySecret, PAYLOAD_KEYS: `k1:${secrets.payloadKey}` };
    const worker = startChild('src/worker.ts', { ...env, STREAM_PORT: '0' });
    const api = startChild('src/api/server.ts', { ...env, PORT: '0' });
    children.push(worker, api);
    await worker.waitFor(/live streams at/);
    const apiUrl = (await api.waitFor(/API: (http:\/\/\S+?)[ ;]/))[1]!;
    const traced = await traceOneRun(apiUrl);
    const spans = await runSpans(traced);
    assertRunTrace(traced, spans);
    const service = (name: string) => spans.find((span) => span.name === name)?.resource['service.name'];
    assert.equal(service('POST /v1/runs'), 'durable-agents-api');
    assert.equal(service('StartWorkflow:agentTurn'), 'durable-agents-api');
    assert.equal(service('RunWorkflow:agentTurn'), 'durable-agents-worker');
    assert.equal(service('RunActivity:llmStep'), 'durable-agents-worker');
    assert.ok(spans.some((span) => span.name.startsWith('chat ') && span.resource['service.name'] === 'durable-agents-worker'));
    assertNothingSecret(traced);
    await Promise.all([api.stop(), worker.stop()]);
  });
});

describe('a collector that cannot be reached', () => {
  test('when the OTLP endpoint refuses connections, then runs go on and the process says why in its logs', async () => {
    const closed = await freePort();
    const env = { ...common(), OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${closed}`, PORT: '0', LOG_FORMAT: 'json' };
    const lonely = startChild('src/main.ts', env);
    children.push(lonely);
    const url = (await lonely.waitFor(/API: +(http:\/\/\S+)/))[1]!;
    const client = createClient({ baseUrl: url, apiKey: secrets.apiKey });
    const created = await client.createRun({ input: 'What is 6*7?' });
    assert.equal((await collectTranscript(client.streamRun(created.runId))).end?.event, 'run.completed');
    // The export that failed, at warn, as a JSON line of the process's logger.
    const [line] = await lonely.waitFor(/\{[^\n]*"msg":"OpenTelemetry: [^\n]*/);
    const logged = JSON.parse(line) as { level: number; msg: string };
    assert.equal(logged.level, 40, 'warn');
    assert.ok(!logged.msg.includes(secrets.apiKey));
    await lonely.stop();
  });
});

describe('without an OTLP endpoint', () => {
  test('when tracing is not configured, then nothing is set up and a run carries no trace context', async () => {
    assert.equal(await startTracing({}, 'durable-agents'), undefined);
    const stack = await startTestStack(temporal, demoResponder({ firstTokenDelayMs: 0, tokenDelayMs: 0 }));
    try {
      const started = await stack.post('/v1/runs', { input: 'What is 6*7?' });
      assert.equal(started.status, 202);
      await temporal.client.workflow.getHandle(started.body.runId).result();
      const history = await historyOf(started.body.runId);
      const headers = history.events!.flatMap((event) => [
        ...Object.keys(event.workflowExecutionStartedEventAttributes?.header?.fields ?? {}),
        ...Object.keys(event.activityTaskScheduledEventAttributes?.header?.fields ?? {}),
      ]);
      assert.ok(history.events!.some((event) => event.activityTaskScheduledEventAttributes), 'the run scheduled activities');
      assert.deepEqual(headers, [], 'no trace context in the run\'s headers');
    } finally {
      await stack.close();
    }
    // The traced run, by contrast, carried it.
    assert.ok(tracedHistory, 'the traced run ran');
    const started = tracedHistory.events![0]!.workflowExecutionStartedEventAttributes!;
    assert.ok(started.header?.fields?.['_tracer-data'], 'a traced run carries its trace context in its start');
  });
});

describe('replay with tracing', () => {
  let tracing: Tracing | undefined;
  after(async () => tracing?.shutdown());

  test('when recorded histories are replayed with the tracing bundle, and a traced run without it, then each reproduces', async () => {
    tracing = await startTracing({ tracesEndpoint: `${receiver.url}/v1/traces` }, 'replay');
    assert.ok(tracing);
    const traced = { workflowBundle: await workflowBundle({ workflowInterceptorModules: tracing.worker.workflowInterceptorModules, preloadModules: tracing.worker.workflowPreloadModules }), sinks: tracing.worker.sinks() };
    const fixtures = join(import.meta.dirname, 'fixtures', 'histories');
    const files = readdirSync(fixtures).filter((file) => file.endsWith('.binpb'));
    assert.ok(files.length > 10);
    for (const file of files) await Worker.runReplayHistory(traced, History.decode(readFileSync(join(fixtures, file))), file);
    assert.ok(tracedHistory, 'the traced run ran');
    await Worker.runReplayHistory(traced, tracedHistory, tracedRunId);
    await Worker.runReplayHistory({ workflowBundle: await workflowBundle() }, tracedHistory, tracedRunId);
  });
});
