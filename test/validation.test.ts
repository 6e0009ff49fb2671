import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { demoResponder } from '../src/demo-model/demo-script';
import { noDelay } from '../src/demo-model/chunks';
import { startTemporal } from './helpers/temporal';
import { startTestStack, type TestStack } from './helpers/stack';

let environment: TestWorkflowEnvironment;
let stack: TestStack;
let finishedRunId: string;

before(async () => {
  environment = await startTemporal();
  stack = await startTestStack(environment, demoResponder(noDelay), { limits: { maxSteps: 20, maxInputChars: 1000, approvalTimeoutMs: 60_000 } });
  finishedRunId = (await stack.post('/v1/runs', { input: 'hello' })).body.runId;
  await environment.client.workflow.getHandle(finishedRunId).result();
});

after(async () => {
  await stack?.close();
  await environment?.teardown();
});

interface Case {
  name: string;
  method: 'GET' | 'POST';
  path: string;
  body?: unknown;
  headers?: Record<string, string>;
  status: number;
  code: string;
  message?: RegExp;
}

const cases: Case[] = [
  { name: 'bad JSON', method: 'POST', path: '/v1/runs', body: '{"input": ', status: 400, code: 'invalid_json' },
  { name: 'a JSON array', method: 'POST', path: '/v1/runs', body: '[1,2]', status: 400, code: 'invalid_request' },
  { name: 'not JSON at all', method: 'POST', path: '/v1/runs', body: 'input=hi', headers: { 'content-type': 'text/plain' }, status: 415, code: 'unsupported_media_type' },
  { name: 'no body', method: 'POST', path: '/v1/runs', status: 415, code: 'unsupported_media_type' },
  { name: 'missing input', method: 'POST', path: '/v1/runs', body: {}, status: 400, code: 'invalid_request', message: /input is required/ },
  { name: 'empty input', method: 'POST', path: '/v1/runs', body: { input: '' }, status: 400, code: 'invalid_request', message: /must not be empty/ },
  { name: 'blank input', method: 'POST', path: '/v1/runs', body: { input: '   ' }, status: 400, code: 'invalid_request' },
  { name: 'input of the wrong type', method: 'POST', path: '/v1/runs', body: { input: 42 }, status: 400, code: 'invalid_request', message: /input/ },
  { name: 'input over the limit', method: 'POST', path: '/v1/runs', body: { input: 'x'.repeat(1001) }, status: 413, code: 'input_too_large' },
  { name: 'body over the limit', method: 'POST', path: '/v1/runs', body: { input: 'x'.repeat(3 * 1024 * 1024) }, status: 413, code: 'payload_too_large' },
  { name: 'maxSteps zero', method: 'POST', path: '/v1/runs', body: { input: 'hi', maxSteps: 0 }, status: 400, code: 'invalid_request', message: /maxSteps/ },
  { name: 'maxSteps fractional', method: 'POST', path: '/v1/runs', body: { input: 'hi', maxSteps: 1.5 }, status: 400, code: 'invalid_request' },
  { name: 'maxSteps as a string', method: 'POST', path: '/v1/runs', body: { input: 'hi', maxSteps: '3' }, status: 400, code: 'invalid_request' },
  { name: 'maxSteps over the cap', method: 'POST', path: '/v1/runs', body: { input: 'hi', maxSteps: 21 }, status: 400, code: 'invalid_request' },
  { name: 'model of the wrong type', method: 'POST', path: '/v1/runs', body: { input: 'hi', model: 5 }, status: 400, code: 'invalid_request', message: /model/ },
  { name: 'system of the wrong type', method: 'POST', path: '/v1/runs', body: { input: 'hi', system: ['x'] }, status: 400, code: 'invalid_request', message: /system/ },
  { name: 'messages not an array', method: 'POST', path: '/v1/runs', body: { input: 'hi', messages: 'x' }, status: 400, code: 'invalid_request' },
  { name: 'a message with an unknown role', method: 'POST', path: '/v1/runs', body: { input: 'hi', messages: [{ role: 'wizard', content: 'x' }] }, status: 400, code: 'invalid_request', message: /messages\.0/ },
  { name: 'a tool message without tool_call_id', method: 'POST', path: '/v1/runs', body: { input: 'hi', messages: [{ role: 'tool', content: 'x' }] }, status: 400, code: 'invalid_request' },
  { name: 'an unknown field', method: 'POST', path: '/v1/runs', body: { input: 'hi', temperature: 2 }, status: 400, code: 'invalid_request', message: /unknown field\(s\): temperature/ },
  { name: 'an unknown tool', method: 'POST', path: '/v1/runs', body: { input: 'hi', tools: ['teleport'] }, status: 400, code: 'invalid_request', message: /unknown tool/ },
  { name: 'an unknown run', method: 'GET', path: '/v1/runs/run_nope', status: 404, code: 'run_not_found' },
  { name: 'a run id with odd characters', method: 'GET', path: '/v1/runs/%20%2F..', status: 404, code: 'run_not_found' },
  { name: 'events of an unknown run', method: 'GET', path: '/v1/runs/run_nope/events', status: 404, code: 'run_not_found' },
  { name: 'cancel of an unknown run', method: 'POST', path: '/v1/runs/run_nope/cancel', body: {}, status: 404, code: 'run_not_found' },
  { name: 'an unknown route', method: 'GET', path: '/v1/nothing', status: 404, code: 'not_found' },
];

for (const testCase of cases) {
  test(`when the request has ${testCase.name}, then ${testCase.status} ${testCase.code}`, async () => {
    const body = testCase.body === undefined ? undefined : typeof testCase.body === 'string' ? testCase.body : JSON.stringify(testCase.body);
    const response = await fetch(`${stack.url}${testCase.path}`, {
      method: testCase.method,
      headers: { ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...testCase.headers },
      body,
    });
    const json = (await response.json()) as { error: { code: string; message: string } };
    assert.equal(response.status, testCase.status, JSON.stringify(json));
    assert.equal(json.error.code, testCase.code);
    assert.equal(typeof json.error.message, 'string');
    assert.ok(json.error.message.length > 0);
    if (testCase.message) assert.match(json.error.message, testCase.message);
  });
}

test('when Last-Event-ID is not an id of this API, then 400 invalid_last_event_id', async () => {
  for (const lastEventId of ['garbage', '1.2', '-1.0.0', '1.2.3.4', '01.0.0']) {
    const response = await fetch(`${stack.url}/v1/runs/${finishedRunId}/events`, { headers: { 'Last-Event-ID': lastEventId } });
    assert.equal(response.status, 400, lastEventId);
    assert.equal(((await response.json()) as any).error.code, 'invalid_last_event_id');
  }
  const viaQuery = await fetch(`${stack.url}/v1/runs/${finishedRunId}/events?lastEventId=nope`);
  assert.equal(viaQuery.status, 400);
});

test('when a finished run is cancelled, then 409 run_not_running', async () => {
  const response = await stack.post(`/v1/runs/${finishedRunId}/cancel`, {});
  assert.equal(response.status, 409);
  assert.equal(response.body.error.code, 'run_not_running');
});

test('when valid optional fields are given, then the run takes them', async () => {
  const response = await stack.post('/v1/runs', {
    input: 'and now?',
    model: 'my-model',
    system: 'Be brief.',
    maxSteps: 3,
    tools: [],
    messages: [
      { role: 'user', content: 'earlier question' },
      { role: 'assistant', content: 'earlier answer' },
    ],
  });
  assert.equal(response.status, 202);
  await environment.client.workflow.getHandle(response.body.runId).result();
  const sent = stack.model.requests.at(-1)!.body;
  assert.equal(sent.model, 'my-model');
  assert.deepEqual(sent.messages.map((message) => message.role), ['system', 'user', 'assistant', 'user']);
  assert.equal(sent.tools, undefined, 'no tools offered when tools is empty');
});

test('when Temporal is reachable, then /healthz says ok', async () => {
  const response = await stack.get('/healthz');
  assert.equal(response.status, 200);
  assert.equal(response.body.status, 'ok');
});
