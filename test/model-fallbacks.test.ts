import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Worker } from '@temporalio/worker';
import { HttpError } from '../src/api/errors';
import { turnSettings, type RunDefaults } from '../src/api/run-defaults';
import { anthropicTextFrames } from '../src/demo-model/anthropic-frames';
import { startAnthropicServer, type AnthropicServer } from '../src/demo-model/anthropic-server';
import { textFrames } from '../src/demo-model/chunks';
import { startModelServer, type ChatRequest, type ModelServer, type Reply } from '../src/demo-model/server';
import { workflowBundle } from '../src/worker';
import { assembleText, readSse, type ReceivedEvent } from './helpers/sse';
import { startTestStack, type TestStack } from './helpers/stack';
import { startTemporal, type TestTemporal } from './helpers/temporal';
import { Metrics } from '../src/telemetry/metrics';
import { samplesOf, total, type Sample } from './helpers/metrics';

// MODEL_FALLBACKS through the API on a real Temporal dev server, with scripted models over real
// HTTP: the primary (OpenAI-compatible), a backup endpoint of the same kind, and Claude last.

const fast = { firstTokenDelayMs: 0, tokenDelayMs: 5 };
const unavailable: Reply = { kind: 'json', status: 503, body: { error: { message: 'The service is temporarily unavailable.', type: 'server_error' } } };
const task = (request: ChatRequest) => String(request.messages.find((message) => message.role === 'user')?.content ?? '');

let environment: TestTemporal;
let backup: ModelServer;
let claude: AnthropicServer;
let stack: TestStack;
let backupModel: string;
// This stack's own registry: what its /metrics would say.
const metrics = new Metrics();

before(async () => {
  environment = await startTemporal();
  backup = await startModelServer((request) => {
    if (task(request).startsWith('Primary down')) return { kind: 'stream', frames: textFrames(request.model, 'The backup answered.', fast) };
    if (task(request).startsWith('All down')) return unavailable;
    throw new Error(`the backup was not meant to be asked: ${task(request)}`);
  });
  claude = await startAnthropicServer((request) => ({ kind: 'stream', frames: anthropicTextFrames(request.model, 'Claude answered last.') }));
  backupModel = `backup-model@${backup.baseURL}`;
  const primary = (request: ChatRequest): Reply => {
    if (task(request).startsWith('Primary rejects')) return { kind: 'json', status: 400, body: { error: { message: 'Invalid value for tools.', type: 'invalid_request_error' } } };
    return unavailable;
  };
  stack = await startTestStack(environment, primary, {
    metrics,
    modelSettings: { name: 'primary-model', fallbacks: [backupModel, 'anthropic:claude-backup'], fallbackAttempts: 2, anthropic: { baseURL: claude.baseURL, apiKey: 'sk-ant-fallback-key', maxTokens: 512 } },
  });
});

after(async () => {
  await stack?.close();
  await backup?.close();
  await claude?.close();
  await environment?.teardown();
});

/** How much a metric grew while `work` ran. */
async function growth<T>(work: () => Promise<T>): Promise<{ result: T; grew: (name: string, labels?: Record<string, string>) => number }> {
  const before: Sample[] = await samplesOf(metrics);
  const result = await work();
  const after = await samplesOf(metrics);
  return { result, grew: (name, labels = {}) => total(after, name, labels) - total(before, name, labels) };
}

async function run(input: string) {
  const started = await stack.post('/v1/runs', { input, tools: [] });
  assert.equal(started.status, 202, JSON.stringify(started.body));
  const { runId, links } = started.body;
  const { events } = await readSse(`${stack.url}${links.events}`);
  return { runId, events, state: (await stack.get(`/v1/runs/${runId}`)).body, eventsUrl: `${stack.url}${links.events}` };
}

const retries = (events: ReceivedEvent[]) => events.filter((event) => event.event === 'step.retrying').map((event) => [event.data.attempt, event.data.reason]);
const countFor = (server: { requests: Array<{ body: ChatRequest }> }, prefix: string) => server.requests.filter((request) => task(request.body).startsWith(prefix)).length;

describe('model fallbacks', () => {
  test('when the primary stays unavailable (503) after its attempts, then the step completes on the fallback, announced with the reason, and the run records it', async () => {
    const { result, grew } = await growth(() => run('Primary down: say something'));
    const { runId, events, state, eventsUrl } = result;
    // In the metrics: a retry on the primary, its two failed attempts, the fallback, one completed run.
    assert.equal(grew('durable_agents_model_step_retries_total', { model: 'primary-model', provider: 'openai' }), 1);
    assert.equal(grew('durable_agents_model_step_duration_seconds_count', { model: 'primary-model', outcome: 'ModelUnavailable' }), 2);
    assert.equal(grew('durable_agents_model_fallbacks_total', { model: 'backup-model', provider: 'openai' }), 1);
    assert.equal(grew('durable_agents_model_step_duration_seconds_count', { model: 'backup-model', outcome: 'completed' }), 1);
    assert.equal(grew('durable_agents_runs_ended_total', { kind: 'run', outcome: 'completed' }), 1);
    assert.equal(events.at(-1)?.event, 'run.completed', JSON.stringify(events.at(-1)));
    assert.equal(state.output, 'The backup answered.');
    assert.equal(countFor(stack.model, 'Primary down'), 2, 'the primary got its two attempts (MODEL_FALLBACK_ATTEMPTS)');
    assert.equal(countFor(backup, 'Primary down'), 1);
    const [second, third] = retries(events);
    assert.deepEqual(second, [2, "attempt 1 failed; discard this step's partial text"]);
    assert.equal(third![0], 3, 'the fallback numbers its attempts on: event ids never repeat');
    assert.match(third![1], new RegExp(`^primary-model stayed unavailable after 2 attempts \\(model call failed \\(HTTP 503\\): 503 The service is temporarily unavailable\\.\\); falling back to backup-model@http://`));
    assert.equal([...assembleText(events).values()].join(''), 'The backup answered.');
    assert.deepEqual([state.steps[0].model, state.steps[0].attempt], [backupModel, 3], 'the step records which model answered');
    // A reader who comes later gets the same announcement, rebuilt from durable state.
    const late = await readSse(eventsUrl);
    assert.deepEqual(retries(late.events), [third]);

    const history = await environment.client.workflow.getHandle(runId).fetchHistory();
    const scheduled = history.events!.filter((event) => event.activityTaskScheduledEventAttributes?.activityType?.name === 'llmStep');
    assert.equal(scheduled.length, 2, 'one activity per model: the history shows who was asked');
    await Worker.runReplayHistory({ workflowBundle: await workflowBundle() }, history, runId);
  });

  test('when the primary rejects the request (400), then there is no fallback and the run fails with the rejection', async () => {
    const { result, grew } = await growth(() => run('Primary rejects: this'));
    const { events, state } = result;
    assert.equal(grew('durable_agents_runs_ended_total', { kind: 'run', outcome: 'failed', error_code: 'model_step_failed' }), 1);
    assert.equal(grew('durable_agents_model_step_duration_seconds_count', { model: 'primary-model', outcome: 'ModelRequestRejected' }), 1);
    assert.equal(grew('durable_agents_model_fallbacks_total'), 0);
    const end = events.at(-1)!;
    assert.equal(end.event, 'run.failed');
    assert.equal(end.data.error.code, 'model_step_failed');
    assert.match(end.data.error.message, /HTTP 400.*Invalid value for tools/);
    assert.deepEqual(retries(events), []);
    assert.equal(countFor(stack.model, 'Primary rejects'), 1);
    assert.equal(countFor(backup, 'Primary rejects'), 0, 'the fallback was never asked');
    assert.equal(state.status, 'failed');
  });

  test('when the fallback is unavailable too, then the next one (Claude, another provider) answers', async () => {
    const { result, grew } = await growth(() => run('All down but Claude'));
    const { events, state } = result;
    assert.equal(grew('durable_agents_model_fallbacks_total', { model: 'claude-backup', provider: 'anthropic' }), 1);
    assert.equal(grew('durable_agents_model_fallbacks_total'), 2);
    assert.equal(events.at(-1)?.event, 'run.completed', JSON.stringify(events.at(-1)));
    assert.equal(state.output, 'Claude answered last.');
    assert.deepEqual(retries(events).map(([attempt]) => attempt), [2, 3, 4, 5]);
    assert.match(retries(events)[3]![1], /^backup-model@http:\S+ stayed unavailable after 2 attempts .*; falling back to anthropic:claude-backup/);
    assert.deepEqual([state.steps[0].model, state.steps[0].attempt], ['anthropic:claude-backup', 5]);
    assert.equal(claude.requests.at(-1)?.body.model, 'claude-backup');
  });

  test('when a run names an endpoint of its own, or a malformed model, then it is refused with 400', async () => {
    const refused = await stack.post('/v1/runs', { input: 'x', model: 'gpt-4o@http://169.254.169.254/v1' });
    assert.equal(refused.status, 400);
    assert.equal(refused.body.error.code, 'model_not_allowed');
    const malformed = await stack.post('/v1/runs', { input: 'x', model: 'anthropic:' });
    assert.deepEqual([malformed.status, malformed.body.error.code], [400, 'invalid_request']);
  });

  test('when Anthropic is not configured where the API can tell, then a run naming a Claude model is refused with 400', () => {
    const defaults = { defaultModel: 'gpt-4o', toolNames: [], toolPolicies: () => [], toolConcurrency: 1, limits: { maxSteps: 5, maxInputChars: 10, approvalTimeoutMs: 1 } } satisfies RunDefaults;
    const settings = (model: string, anthropicConfigured: boolean) => turnSettings({ ...defaults, models: { fallbacks: ['gpt-4o-mini'], fallbackAttempts: 2, anthropicConfigured } }, { model });
    assert.throws(() => settings('anthropic:claude-sonnet-4-5', false), (error: unknown) => error instanceof HttpError && error.status === 400 && error.code === 'model_not_available');
    assert.deepEqual(settings('anthropic:claude-sonnet-4-5', true).modelFallbacks, { models: ['gpt-4o-mini'], attempts: 2 });
    assert.equal(settings('gpt-4o-mini', true).modelFallbacks, undefined, 'a run on the fallback itself has nothing left to fall back to');
  });
});
