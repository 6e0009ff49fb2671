import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { loadConfig } from '../src/config';
import { textFrames, toolCallFrames } from '../src/demo-model/chunks';
import type { ChatRequest, Reply } from '../src/demo-model/server';
import { runHistories } from './helpers/history';
import { assembleText, assertIncreasingIds, readSse, type ReceivedEvent } from './helpers/sse';
import { startTestStack, type TestStack } from './helpers/stack';
import { startTemporal } from './helpers/temporal';

// Long runs: a model that reads a big workspace file at every step, as coding and research agents
// do. The history must grow with the content (each result written once), no payload may pass
// Temporal's 512 KB warning, the run continues as new before its history fills up, and every
// reader (live, resumed, late, GET in pages) sees the same run.

const fast = { firstTokenDelayMs: 0, tokenDelayMs: 0 };
const fileBytes = 150 * 1024;
const modelSteps = 200;
const problems: string[] = [];

/** The model: `read N` asks for read_file N-1 times (one call per step), then answers. */
function reply(request: ChatRequest): Reply {
  const userIndex = request.messages.findLastIndex((message) => message.role === 'user');
  const input = request.messages[userIndex]?.content ?? '';
  const [scenario, countText, file = 'big.txt'] = input.split(' ');
  const results = request.messages.slice(userIndex + 1).filter((message) => message.role === 'tool');
  if (scenario === 'read') {
    const wanted = Number(countText);
    // Which step this is: the ids of the calls so far tell, even when old results were left out.
    const calls = request.messages.slice(userIndex + 1).flatMap((message) => (message.tool_calls as Array<{ id: string }> | undefined) ?? []);
    const step = calls.length + 1;
    const last = results.at(-1);
    if (last && !String(last.content).includes('"content":')) problems.push(`step ${step}: the newest result is not the file: ${String(last.content).slice(0, 80)}`);
    for (const message of request.messages) {
      if (message.role !== 'tool') continue;
      if (!calls.some((call) => call.id === message.tool_call_id)) problems.push(`step ${step}: a tool result without its call`);
    }
    if (step >= wanted) return { kind: 'stream', frames: textFrames(request.model, `Read the file ${step - 1} times. Done.`, fast) };
    return { kind: 'stream', frames: [...textFrames(request.model, `Step ${step}: reading again. `, fast).slice(0, -1), ...toolCallFrames(request.model, [{ id: `call_read_${step}`, name: 'read_file', arguments: JSON.stringify({ path: file, maxBytes: fileBytes }) }], fast)] };
  }
  if (scenario === 'overflow') {
    return { kind: 'json', status: 400, body: { error: { message: "This model's maximum context length is 8192 tokens. However, your messages resulted in 9000 tokens.", type: 'invalid_request_error', code: 'context_length_exceeded' } } };
  }
  return { kind: 'stream', frames: textFrames(request.model, 'ok', fast) };
}

/** Consecutive deltas of one step and attempt merged: live chunking and rebuilt text compare equal. */
function normalized(events: ReceivedEvent[]): Array<{ id: string; event: string; data: unknown }> {
  const out: Array<{ id: string; event: string; data: any }> = [];
  for (const { id, event, data } of events) {
    // Live estimates: a late or resumed reader gets them only while the relay still holds the step.
    if (event === 'usage.updated') continue;
    const previous = out.at(-1);
    if (event === 'text.delta' && previous?.event === 'text.delta' && previous.data.step === data.step && previous.data.attempt === data.attempt) {
      previous.id = id;
      previous.data = { ...previous.data, delta: previous.data.delta + data.delta };
    } else out.push({ id, event, data });
  }
  return out;
}

let environment: TestWorkflowEnvironment;
let stack: TestStack;

before(async () => {
  environment = await startTemporal();
  const workspaceDir = mkdtempSync(join(tmpdir(), 'long-runs-'));
  // Lines of text, as a source file would be.
  const line = 'const value = computeSomethingUseful(input, options); // a line of a large source file\n';
  writeFileSync(join(workspaceDir, 'big.txt'), line.repeat(Math.ceil(fileBytes / line.length)).slice(0, fileBytes));
  writeFileSync(join(workspaceDir, 'small.txt'), line.repeat(25));
  const config = loadConfig({});
  stack = await startTestStack(environment, reply, {
    toolSettings: { ...config.tools, workspaceDir },
    limits: { ...config.limits, maxSteps: 1000 },
  });
});

after(async () => {
  await stack?.close();
  await environment?.teardown();
});

describe('a run of 200 steps that reads 150 KB at each', () => {
  test('when it runs to the end, then the history is linear, no payload passes 512 KB, and live, resumed and late clients agree', async () => {
    const started = await stack.post('/v1/runs', { input: `read ${modelSteps}`, maxSteps: modelSteps, tools: ['read_file'] });
    assert.equal(started.status, 202, JSON.stringify(started.body));
    const { runId } = started.body;
    const firstExecutionId = decodeURIComponent(started.body.links.temporalUi.split('/').at(-2));
    const live = await readSse(`${stack.url}/v1/runs/${runId}/events`);
    assert.equal(live.events.at(-1)?.event, 'run.completed', JSON.stringify(live.events.at(-1)));
    assertIncreasingIds(live.events);
    assert.deepEqual(problems, []);
    const startedAt = new Map(live.events.filter((event) => event.event === 'step.started').map((event) => [event.data.step as number, event.at]));
    const pace = (from: number, to: number) => ((startedAt.get(to)! - startedAt.get(from)!) / (to - from)).toFixed(0);
    console.log(`long run: ms per step: steps 1-50 ${pace(1, 51)}, steps 349-399 ${pace(349, 399)}`);

    // Every reader agrees: the transcript read page by page, the live text, a late client, a resumed one.
    const steps: any[] = [];
    for (let fromStep: number | undefined = 1; fromStep !== undefined; ) {
      const page = await stack.get(`/v1/runs/${runId}?fromStep=${fromStep}`);
      assert.equal(page.status, 200, JSON.stringify(page.body).slice(0, 300));
      assert.equal(page.body.status, 'completed');
      steps.push(...page.body.steps);
      fromStep = page.body.nextStep;
    }
    assert.equal(steps.length, 2 * modelSteps - 1);
    assert.deepEqual(steps.map((step) => step.step), steps.map((_step, index) => index + 1));
    const transcript = steps.filter((step) => step.kind === 'llm').map((step) => step.text).join('');
    assert.equal([...assembleText(live.events).values()].join(''), transcript);
    const toolSteps = steps.filter((step) => step.kind === 'tools');
    assert.ok(toolSteps.every((step) => step.calls[0].status === 'completed' && step.calls[0].result.length > fileBytes));
    assert.ok(live.events.some((event) => event.event === 'context.trimmed'), 'the context was trimmed to fit 128k tokens');

    const late = await readSse(`${stack.url}/v1/runs/${runId}/events`);
    assert.deepEqual(normalized(late.events), normalized(live.events));
    const middle = live.events[Math.floor(live.events.length / 2)]!;
    const resumed = await readSse(`${stack.url}/v1/runs/${runId}/events`, { headers: { 'last-event-id': middle.id } });
    const after = live.events.slice(live.events.indexOf(middle) + 1);
    assert.deepEqual(normalized(resumed.events), normalized(after));

    // What Temporal holds: several executions, each well inside its limits, every payload small.
    const histories = await runHistories(environment.client, runId, firstExecutionId);
    assert.ok(histories.length > 1, 'the run continued as new');
    const totalBytes = histories.reduce((sum, history) => sum + history.bytes, 0);
    for (const history of histories) {
      assert.ok(history.largestPayload < 512 * 1024, `a payload of ${history.largestPayload} bytes`);
      assert.ok(history.events < 10_240 && history.bytes < 10 * 1024 * 1024, JSON.stringify(history));
    }
    // Linear: the content is 199 results of 150 KB (JSON-escaped in the history), written once.
    const content = (modelSteps - 1) * fileBytes;
    const perStep = (totalBytes - content) / (2 * modelSteps - 1);
    console.log(`long run: ${histories.length} executions, ${totalBytes} history bytes for ${content} bytes of results, ${perStep.toFixed(0)} bytes per step besides them`);
    assert.ok(totalBytes < content + (2 * modelSteps) * 10 * 1024, `history ${totalBytes} bytes for ${content} bytes of content`);
  });
});

describe("the model's context window", () => {
  const requestsOf = (input: string) => stack.model.requests.filter((request) => request.body.messages.some((message) => message.role === 'user' && message.content === input));

  test('when a run outgrows a small context window, then the oldest results give way to notes, a tool call keeps its result, and context.trimmed says so live and rebuilt', async () => {
    const input = 'read 8 small.txt';
    const started = await stack.post('/v1/runs', { input, model: 'gpt-4o-mini', contextTokens: 3000, tools: ['read_file'] });
    assert.equal(started.status, 202, JSON.stringify(started.body));
    const live = await readSse(`${stack.url}/v1/runs/${started.body.runId}/events`);
    assert.equal(live.events.at(-1)?.event, 'run.completed');
    const trimmed = live.events.filter((event) => event.event === 'context.trimmed');
    assert.ok(trimmed.length > 0, 'the context was trimmed');
    for (const event of trimmed) {
      assert.equal(event.data.maxTokens, 3000);
      assert.equal(event.data.estimate, false, 'gpt-4o-mini is counted with its own tokenizer');
      assert.ok(event.data.toolResultsLeftOut >= 1);
      assert.ok(event.data.tokensAfter < event.data.tokensBefore && event.data.tokensAfter <= 3000);
      assert.match(event.id, /^\d+\.1\.c$/);
    }
    const last = requestsOf(input).at(-1)!.body.messages;
    assert.match(String(last.find((message) => message.role === 'tool')?.content), /left out to fit the context window: a [\d,]+-character result of read_file/);
    assert.match(String(last.at(-1)?.content), /"content":/, 'the newest result is whole');
    const callIds = last.flatMap((message) => ((message.tool_calls as Array<{ id: string }> | undefined) ?? []).map((call) => call.id));
    assert.deepEqual(last.filter((message) => message.role === 'tool').map((message) => message.tool_call_id), callIds);
    const late = await readSse(`${stack.url}/v1/runs/${started.body.runId}/events`);
    assert.deepEqual(
      late.events.filter((event) => event.event === 'context.trimmed').map(({ id, data }) => ({ id, data })),
      trimmed.map(({ id, data }) => ({ id, data })),
    );
    const run = await stack.get(`/v1/runs/${started.body.runId}`);
    assert.deepEqual(run.body.steps.filter((step: any) => step.context).length, trimmed.length);
  });

  test('when the model answers that the context is too long, then the run fails at once with context_window_exceeded, not after retries', async () => {
    const started = await stack.post('/v1/runs', { input: 'overflow please', tools: [] });
    const { events } = await readSse(`${stack.url}/v1/runs/${started.body.runId}/events`);
    assert.equal(events.at(-1)?.event, 'run.failed');
    assert.equal(events.at(-1)?.data.error.code, 'context_window_exceeded');
    assert.match(events.at(-1)?.data.error.message, /context window/);
    assert.equal(requestsOf('overflow please').length, 1);
  });

  test('when the task alone does not fit the context window, then the run fails with context_window_exceeded without calling the model', async () => {
    const input = `summarize ${'a long task description '.repeat(400)}`;
    const started = await stack.post('/v1/runs', { input, tools: [], contextTokens: 1024 });
    const { events } = await readSse(`${stack.url}/v1/runs/${started.body.runId}/events`);
    assert.equal(events.at(-1)?.data.error.code, 'context_window_exceeded');
    assert.match(events.at(-1)?.data.error.message, /1024 tokens/);
    assert.equal(requestsOf(input).length, 0);
  });
});
