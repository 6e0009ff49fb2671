import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import proto from '@temporalio/proto';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { chunk, textFrames, toolCallFrames } from '../src/demo-model/chunks';
import { demoReply } from '../src/demo-model/demo-script';
import { startModelServer, type ChatRequest, type ModelServer, type Reply } from '../src/demo-model/server';
import { workflowBundle } from '../src/worker';
import { z } from 'zod';
import { defaultTools } from '../src/activities/tools';
import { ToolRegistry, type ToolDefinition } from '../src/activities/tools/registry';
import { ToolResultCache } from '../src/activities/tools/tool-cache';
import { loadConfig } from '../src/config';
import { toolCallScriptInput, toolScript } from '../src/demo-model/tool-call-script';
import { readSse } from './helpers/sse';
import { startTestStack, type TestStack } from './helpers/stack';
import { startTemporal } from './helpers/temporal';
import { runSummaryLine } from '../src/shared/run-list';

// Workflow code must stay deterministic: recorded histories of every path replay against the
// current code. Histories committed under test/fixtures/histories guard against changes that
// would break runs already in flight (those recorded before parallel tools replay on the old
// path). RECORD_HISTORIES=1 writes the fixtures that are missing; it never rewrites one. They are stored in
// protobuf binary: the SDK's JSON helpers trip over two protobufjs copies in @temporalio 1.24.

type History = proto.temporal.api.history.v1.IHistory;
const { History } = proto.temporal.api.history.v1;

const fixtures = join(import.meta.dirname, 'fixtures', 'histories');
const fast = { firstTokenDelayMs: 0, tokenDelayMs: 0 };
const seen = new Map<string, number>();

function reply(request: ChatRequest): Reply {
  const input = request.messages.find((message) => message.role === 'user')?.content ?? '';
  const count = (seen.get(input) ?? 0) + 1;
  seen.set(input, count);
  if (input.startsWith('flaky') && count === 1) {
    return { kind: 'stream', frames: [{ chunk: chunk(request.model, { content: 'partial' }) }, { chunk: { error: { message: 'overloaded', code: 503 } } }], done: false };
  }
  if (input.startsWith('loop')) {
    return { kind: 'stream', frames: toolCallFrames(request.model, [{ id: `call_${count}`, name: 'calculator', arguments: '{"expression":"1+1"}' }], fast) };
  }
  if (input.startsWith('slow')) return { kind: 'stream', frames: textFrames(request.model, 'x '.repeat(200), { firstTokenDelayMs: 0, tokenDelayMs: 20 }) };
  if (input.startsWith('{')) return toolScript(request);
  // MODEL_FALLBACKS: the run's model stays unavailable, the backup answers.
  if (input.startsWith('fallback')) {
    return request.model === 'backup-model'
      ? { kind: 'stream', frames: textFrames(request.model, 'The backup answered.', fast) }
      : { kind: 'json', status: 503, body: { error: { message: 'temporarily unavailable', type: 'server_error' } } };
  }
  return demoReply(request, fast);
}

const { EventType } = proto.temporal.api.enums.v1;
const approvalInput = toolCallScriptInput(['delete_file', { path: 'x' }], ['calculator', { expression: '1+1' }]);
const cachedInput = toolCallScriptInput(['lookup', { city: 'Oslo' }]);
const streamedInput = toolCallScriptInput(['typewriter', { lines: 3 }]);
const scenarios: Array<{ name: string; input: string; body?: Record<string, unknown>; cancel?: boolean; approve?: boolean; warm?: boolean; end: number }> = [
  { name: 'tool-calls', input: 'What is 12*7 and (3+4)/2?', end: EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED },
  { name: 'parallel-tools', input: 'What is 1+1, 2*3, 10/4 and 7-9?', end: EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED },
  { name: 'retry', input: 'flaky model', end: EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED },
  { name: 'max-steps', input: 'loop please', body: { maxSteps: 2 }, end: EventType.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED },
  // 10 tokens a step: the second step reaches the budget, and the run fails before its tools run.
  { name: 'max-tokens', input: 'loop please, on a budget', body: { maxTokens: 20 }, end: EventType.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED },
  { name: 'cancelled', input: 'slow and cancelled', cancel: true, end: EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED },
  // Since cancelled runs write their end summary into their memo (a patch).
  { name: 'cancelled-summary-memo', input: 'slow and cancelled, with its end in the memo', cancel: true, end: EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED },
  { name: 'approval-granted', input: approvalInput, approve: true, end: EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED },
  { name: 'approval-denied', input: approvalInput, approve: false, end: EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED },
  // A tool result from the tool cache (an equal call ran just before: `warm`).
  { name: 'cached-tool-call', input: cachedInput, warm: true, end: EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED },
  // A tool that streams its output (tool.output.delta): the output is kept on the call's record.
  { name: 'streamed-tool-output', input: streamedInput, end: EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED },
];

const deleteFile: ToolDefinition<{ path: string }> = {
  name: 'delete_file',
  description: 'needs approval',
  parameters: z.object({ path: z.string() }),
  idempotent: true,
  needsApproval: true,
  run: ({ path }) => `deleted ${path}`,
};

/** Cached for a second: its cache entry's workflow ends soon enough to record it whole. */
const lookup: ToolDefinition<{ city: string }> = {
  name: 'lookup',
  description: 'cached',
  parameters: z.object({ city: z.string() }),
  idempotent: true,
  cache: { ttlMs: 1000 },
  run: ({ city }) => `${city} is a city`,
};

const typewriter: ToolDefinition<{ lines: number }> = {
  name: 'typewriter',
  description: 'streams its output',
  parameters: z.object({ lines: z.number() }),
  idempotent: true,
  run: ({ lines }, context) => {
    for (let index = 0; index < lines; index++) context.output(`line ${index}\n`);
    return `${lines} lines`;
  },
};

let environment: TestWorkflowEnvironment;
let stack: TestStack;
/** Tiny history limits: runs continue as new at every chance (bounded histories). */
let continuingStack: TestStack;
/** MODEL_FALLBACKS: a backup model on a server of its own. */
let fallbackStack: TestStack;
let backup: ModelServer;
const fresh = new Map<string, History>();

/** Runs that continue as new: the first execution (ends continuing as new) and the second. */
const chains: Array<{ name: string; input: string; body?: Record<string, unknown>; approve?: boolean }> = [
  { name: 'run-continue-as-new', input: 'loop please', body: { maxSteps: 3 } },
  { name: 'approval-continue-as-new', input: approvalInput, approve: true },
];

before(async () => {
  environment = await startTemporal();
  stack = await startTestStack(environment, reply, {
    tools: new ToolRegistry([...defaultTools(loadConfig({}).tools), deleteFile, lookup, typewriter]),
    session: { contextChars: 10_000, historyLimit: 30 },
  });
  for (const scenario of scenarios) {
    if (scenario.warm) await readSse(`${stack.url}${(await stack.post('/v1/runs', { input: scenario.input, ...scenario.body })).body.links.events}`);
    const started = await stack.post('/v1/runs', { input: scenario.input, ...scenario.body });
    const runId = started.body.runId;
    let acted: Promise<unknown> | undefined;
    await readSse(`${stack.url}/v1/runs/${runId}/events`, {
      until: (event) => {
        if (scenario.cancel && event.event === 'text.delta') acted ??= stack.post(`/v1/runs/${runId}/cancel`, {});
        if (scenario.approve !== undefined && event.event === 'approval.requested') {
          acted ??= stack.post(`/v1/runs/${runId}/approvals/${event.data.callId}`, { approve: scenario.approve });
        }
        return false;
      },
    });
    await acted;
    const history = await environment.client.workflow.getHandle(runId).fetchHistory();
    record(scenario.name, history);
  }
  continuingStack = await startTestStack(environment, reply, {
    tools: new ToolRegistry([...defaultTools(loadConfig({}).tools), deleteFile]),
    limits: { ...loadConfig({}).limits, history: { events: 1, bytes: 1 } },
  });
  for (const chain of chains) {
    const started = await continuingStack.post('/v1/runs', { input: chain.input, ...chain.body });
    const runId = started.body.runId as string;
    const firstExecution = decodeURIComponent(started.body.links.temporalUi.split('/').at(-2));
    let acted: Promise<unknown> | undefined;
    await readSse(`${continuingStack.url}/v1/runs/${runId}/events`, {
      until: (event) => {
        if (chain.approve !== undefined && event.event === 'approval.requested') {
          acted ??= continuingStack.post(`/v1/runs/${runId}/approvals/${event.data.callId}`, { approve: chain.approve });
        }
        return false;
      },
    });
    await acted;
    const first = await environment.client.workflow.getHandle(runId, firstExecution).fetchHistory();
    record(`${chain.name}-1`, first);
    const second = first.events!.at(-1)!.workflowExecutionContinuedAsNewEventAttributes!.newExecutionRunId!;
    record(`${chain.name}-2`, await environment.client.workflow.getHandle(runId, second).fetchHistory());
  }
  // A model step that falls back to the next model (MODEL_FALLBACKS) after its model's attempts.
  backup = await startModelServer(reply);
  fallbackStack = await startTestStack(environment, reply, { modelSettings: { fallbacks: [`backup-model@${backup.baseURL}`], fallbackAttempts: 1 } });
  const fellBack = await fallbackStack.post('/v1/runs', { input: 'fallback please', tools: [] });
  await readSse(`${fallbackStack.url}${fellBack.body.links.events}`);
  record('model-fallback', await environment.client.workflow.getHandle(fellBack.body.runId).fetchHistory());
  // A session long enough to continue as new: the first execution's history ends with it.
  const sessionId = (await stack.post('/v1/sessions', {})).body.sessionId as string;
  const firstExecution = (await environment.client.workflow.getHandle(sessionId).describe()).runId;
  const continued = async () => (await environment.client.workflow.getHandle(sessionId).describe()).runId !== firstExecution;
  for (let turn = 0; turn < 12 && !(await continued()); turn++) {
    const sent = await stack.post(`/v1/sessions/${sessionId}/messages`, { input: `What is ${turn}+1?` });
    await readSse(`${stack.url}${sent.body.links.events}`);
  }
  record('session-continue-as-new', await environment.client.workflow.getHandle(sessionId, firstExecution).fetchHistory());
  // Turns started since the Web UI summaries (patched 'turn-summary': memo and summary on each turn).
  record('session-turn-summary', await environment.client.workflow.getHandle(sessionId, firstExecution).fetchHistory());
  // The cache entry the warm-up run wrote, once its second has passed.
  const entry = environment.client.workflow.getHandle(ToolResultCache.key('local', 'lookup', { city: 'Oslo' }));
  await entry.result();
  record('tool-cache-entry', await entry.fetchHistory());
});

function record(name: string, history: History) {
  fresh.set(name, history);
  const fixture = join(fixtures, `${name}.binpb`);
  if (process.env.RECORD_HISTORIES === '1' && !existsSync(fixture)) writeFileSync(fixture, History.encode(history).finish());
}

after(async () => {
  await fallbackStack?.close();
  await backup?.close();
  await continuingStack?.close();
  await stack?.close();
  await environment?.teardown();
});

async function replay(history: History, workflowId: string) {
  await Worker.runReplayHistory({ workflowBundle: await workflowBundle() }, history, workflowId);
}

describe('replaying recorded histories', () => {
  for (const scenario of scenarios) {
    test(`when the ${scenario.name} history just recorded is replayed, then the current code reproduces it`, async () => {
      const history = fresh.get(scenario.name)!;
      assert.equal(history.events!.at(-1)!.eventType, scenario.end, 'the history ends the way this path ends');
      await replay(history, scenario.name);
    });
  }

  for (const chain of chains) {
    test(`when a ${chain.name} chain just recorded is replayed, then the current code reproduces each execution`, async () => {
      const first = fresh.get(`${chain.name}-1`)!;
      const second = fresh.get(`${chain.name}-2`)!;
      assert.equal(first.events!.at(-1)!.eventType, EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW);
      const carried = second.events![0]!.workflowExecutionStartedEventAttributes!.input!.payloads![0]!;
      assert.match(Buffer.from(carried.data!).toString(), /"continued":\{"segments":\[\{"executionId"/);
      if (chain.approve !== undefined) assert.match(Buffer.from(carried.data!).toString(), /"approval":\{"record"/, 'the approval wait went on in the new execution');
      await replay(first, `${chain.name}-1`);
      await replay(second, `${chain.name}-2`);
    });
  }

  test('when a run over its token budget (maxTokens) is replayed, then it fails the same way, before the tools of its last step', async () => {
    const history = fresh.get('max-tokens')!;
    const failed = history.events!.at(-1)!.workflowExecutionFailedEventAttributes!;
    assert.match(failed.failure!.message!, /budget of 20 \(maxTokens\)/);
    assert.equal(failed.failure!.applicationFailureInfo!.type, 'MaxTokensExceeded');
    const scheduled = history.events!.flatMap((event) => event.activityTaskScheduledEventAttributes?.activityType?.name ?? []);
    assert.deepEqual(scheduled, ['llmStep', 'tool:calculator', 'llmStep'], 'no tools after the step that reached the budget');
    await replay(history, 'max-tokens');
  });

  test('when a model step that fell back to the next model is replayed, then the current code makes the same choice', async () => {
    const history = fresh.get('model-fallback')!;
    assert.equal(history.events!.at(-1)!.eventType, EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED);
    const inputs = history.events!.flatMap((event) => event.activityTaskScheduledEventAttributes?.input?.payloads?.map((payload) => JSON.parse(Buffer.from(payload.data!).toString())) ?? []);
    assert.deepEqual(inputs.map((input) => input.model), ['scripted', `backup-model@${backup.baseURL}`], 'one activity per model');
    assert.equal(inputs[1].attemptBase, 1);
    await replay(history, 'model-fallback');
  });

  test('when a session history that continued as new is replayed, then the current code reproduces it', async () => {
    const history = fresh.get('session-continue-as-new')!;
    assert.equal(history.events!.at(-1)!.eventType, EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW);
    assert.ok(history.events!.some((event) => event.startChildWorkflowExecutionInitiatedEventAttributes), 'turns ran as child workflows');
    await replay(history, 'session');
  });

  test('when a session starts a turn, then the turn carries the Web UI summary and the list memo, behind a patch', async () => {
    const history = fresh.get('session-turn-summary')!;
    assert.ok(history.events!.some((event) => event.markerRecordedEventAttributes?.markerName === 'core_patch'), 'a patch marker');
    const started = history.events!.find((event) => event.startChildWorkflowExecutionInitiatedEventAttributes)!;
    const summary = started.userMetadata?.summary?.data;
    assert.ok(summary, 'the turn has a summary');
    assert.equal(JSON.parse(Buffer.from(summary).toString()), runSummaryLine('What is 0+1?'));
    const memo = started.startChildWorkflowExecutionInitiatedEventAttributes!.memo!.fields!;
    assert.equal(JSON.parse(Buffer.from(memo.input!.data!).toString()), 'What is 0+1?');
    assert.equal(JSON.parse(Buffer.from(memo.model!.data!).toString()), 'scripted');
    await replay(history, 'session-turn-summary');
  });

  test('when the committed histories are replayed, then the current code reproduces every one', async () => {
    const files = readdirSync(fixtures).filter((file) => file.endsWith('.binpb'));
    const chainFixtures = chains.flatMap((chain) => [`${chain.name}-1`, `${chain.name}-2`]);
    for (const name of [...scenarios.map((scenario) => scenario.name), ...chainFixtures, 'session-continue-as-new', 'session-turn-summary', 'tool-cache-entry', 'model-fallback']) {
      assert.ok(files.includes(`${name}.binpb`), `a committed history of ${name}`);
    }
    for (const file of files) await replay(History.decode(readFileSync(join(fixtures, file))), file);
  });

  test('when a call that streamed output is replayed, then its output is part of its recorded result', async () => {
    const history = fresh.get('streamed-tool-output')!;
    const results = history.events!.flatMap((event) => event.activityTaskCompletedEventAttributes?.result?.payloads ?? []).map((payload) => JSON.parse(Buffer.from(payload.data!).toString()));
    assert.ok(results.some((result) => result.output === 'line 0\nline 1\nline 2\n'), 'the output rides on the result');
    await replay(history, 'streamed-tool-output');
  });

  test('when a cached tool result and a cache entry are replayed, then the current code reproduces both', async () => {
    const run = fresh.get('cached-tool-call')!;
    const completed = run.events!.find((event) => event.activityTaskCompletedEventAttributes)!.activityTaskCompletedEventAttributes!;
    assert.ok(run.events!.some((event) => event.activityTaskScheduledEventAttributes?.activityType?.name === 'tool:lookup'));
    assert.ok(completed, 'the tool call completed');
    const results = run.events!.flatMap((event) => event.activityTaskCompletedEventAttributes?.result?.payloads ?? []).map((payload) => Buffer.from(payload.data!).toString());
    assert.ok(results.some((result) => /"cached":true/.test(result)), 'the hit is the call\'s recorded result');
    const entry = fresh.get('tool-cache-entry')!;
    assert.equal(entry.events!.at(-1)!.eventType, EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED);
    assert.ok(entry.events!.some((event) => event.eventType === EventType.EVENT_TYPE_TIMER_FIRED), 'it slept out its time to live');
    await replay(entry, 'tool-cache-entry');
  });

  test('when a run is cancelled, then it records its end summary in its memo, behind a patch', () => {
    const history = fresh.get('cancelled-summary-memo')!;
    const types = history.events!.map((event) => event.eventType);
    const marker = history.events!.find((event) => event.markerRecordedEventAttributes?.markerName === 'core_patch');
    assert.ok(marker, 'a patch marker');
    assert.ok(types.includes(EventType.EVENT_TYPE_WORKFLOW_PROPERTIES_MODIFIED), 'the memo was upserted');
    const committed = History.decode(readFileSync(join(fixtures, 'cancelled.binpb')));
    assert.ok(!committed.events.some((event) => event.eventType === EventType.EVENT_TYPE_WORKFLOW_PROPERTIES_MODIFIED), 'runs recorded before did not (and replay without it)');
  });

  test('when a history is tampered with (another activity where llmStep was), then replay detects the nondeterminism', async () => {
    const history = History.decode(History.encode(fresh.get('tool-calls')!).finish());
    const scheduled = history.events.find((event) => event.activityTaskScheduledEventAttributes);
    scheduled!.activityTaskScheduledEventAttributes!.activityType!.name = 'somethingElse';
    await assert.rejects(replay(history, 'tampered'), /nondetermin/i);
  });
});

describe('npm run replay', () => {
  test('when pointed at a finished run, then it fetches the history and replays it against the current code', async () => {
    const started = await stack.post('/v1/runs', { input: 'What is 3*3?' });
    await environment.client.workflow.getHandle(started.body.runId).result();
    const { execFile } = await import('node:child_process');
    const output = await new Promise<string>((resolve, reject) =>
      execFile(process.execPath, ['--import', 'tsx', 'src/replay-run.ts', started.body.runId], { env: { ...process.env, TEMPORAL_ADDRESS: environment.address } }, (error, stdout, stderr) =>
        error ? reject(new Error(`${error.message}\n${stdout}${stderr}`)) : resolve(stdout),
      ),
    );
    assert.match(output, new RegExp(`replayed ${started.body.runId}: \\d+ history events, reproduced by the current code`));
  });
});
