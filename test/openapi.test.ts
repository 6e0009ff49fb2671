import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Validator } from '@seriousme/openapi-schema-validator';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import type { Express } from 'express';
import { resolveAccess } from '../src/api/auth/access';
import { createOpenApiDocument } from '../src/api/openapi/document';
import { runRequestSchema } from '../src/api/run-request';
import { loadConfig } from '../src/config';
import { textFrames, toolCallFrames } from '../src/demo-model/chunks';
import type { Responder } from '../src/demo-model/server';
import { callApi, startTestStack, type TestStack } from './helpers/stack';
import { readSse } from './helpers/sse';
import { startTemporal, type TestTemporal } from './helpers/temporal';

// The OpenAPI document: valid OpenAPI 3.1, one operation per Express route and no other, and
// honest: real answers of a running stack (bodies, error codes, each SSE event's data) validate
// against its schemas, and it accepts and refuses request bodies as the API does.

const fast = { firstTokenDelayMs: 0, tokenDelayMs: 0 };
/** "calc <expression>": one calculator call, then the answer; anything else: a short answer. */
const responder: Responder = (request) => {
  const tool = request.messages.findLast((message) => message.role === 'tool');
  if (tool) return { kind: 'stream', frames: textFrames(request.model, `The result is ${tool.content}.`, fast) };
  const input = request.messages.findLast((message) => message.role === 'user')?.content ?? '';
  const expression = /^calc (.+)$/.exec(String(input))?.[1];
  if (expression) return { kind: 'stream', frames: toolCallFrames(request.model, [{ id: 'call_1', name: 'calculator', arguments: JSON.stringify({ expression }) }], fast) };
  return { kind: 'stream', frames: textFrames(request.model, 'Hello there.', fast) };
};

const key = 'acme-openapi-key-0123456789abcdef';
let temporal: TestTemporal;
let stack: TestStack;
let document: any;
const ajv = new Ajv2020({ strict: false, allErrors: true });
addFormats.default(ajv);

const api = (method: string, path: string, body?: unknown, headers: Record<string, string> = {}, withKey = true) => callApi(stack.url, method, path, withKey ? key : undefined, body, headers);
const pointer = (...parts: string[]) => `openapi#/${parts.map((part) => part.replace(/~/g, '~0').replace(/\//g, '~1')).join('/')}`;

/** The body matches the schema the document gives for this operation, status and media type. */
function assertDocumented(method: string, path: string, status: number, body: unknown, mediaType = 'application/json') {
  const response = document.paths[path]?.[method.toLowerCase()]?.responses?.[String(status)];
  assert.ok(response, `${method} ${path} does not document ${status}`);
  assert.ok(response.content?.[mediaType], `${method} ${path} ${status} does not document ${mediaType}`);
  const validate = ajv.getSchema(pointer('paths', path, method.toLowerCase(), 'responses', String(status), 'content', mediaType, 'schema'));
  assert.ok(validate, 'the schema compiles');
  assert.ok(validate(body), `${method} ${path} ${status}: ${ajv.errorsText(validate.errors)}\n${JSON.stringify(body).slice(0, 2000)}`);
}

const componentValidator = (name: string) => {
  const validate = ajv.getSchema(pointer('components', 'schemas', name));
  assert.ok(validate, `components.schemas.${name}`);
  return validate;
};

/** Every route of the app as "METHOD /openapi/{style}", from Express's own router stack. */
function routesOf(stackLayers: any[], prefix = ''): string[] {
  const routes: string[] = [];
  for (const layer of stackLayers) {
    if (layer.route) {
      const methods = Object.keys(layer.route.methods).filter((method) => method !== '_all');
      for (const path of [layer.route.path].flat()) for (const method of methods) routes.push(`${method.toUpperCase()} ${prefix}${path}`);
    } else if (Array.isArray(layer.handle?.stack)) {
      const mount = typeof layer.rawPath === 'string' && layer.rawPath !== '/' ? layer.rawPath : '';
      routes.push(...routesOf(layer.handle.stack, prefix + mount));
    }
  }
  return routes.map((route) => route.replace(/:(\w+)/g, '{$1}'));
}

before(async () => {
  temporal = await startTemporal();
  stack = await startTestStack(temporal, responder, { access: resolveAccess({ mode: 'auto', keys: `acme:${key}`, host: '127.0.0.1' }) });
  const response = await fetch(`${stack.url}/openapi.json`);
  assert.equal(response.status, 200);
  document = await response.json();
  ajv.addSchema(document, 'openapi');
});

after(async () => {
  await stack?.close();
  await temporal?.teardown();
});

describe('the document', () => {
  test('when fetched without a key, then it is valid OpenAPI 3.1', async () => {
    const validator = new Validator();
    const result = await validator.validate(structuredClone(document));
    assert.equal(validator.version, '3.1');
    assert.ok(result.valid, JSON.stringify(result.errors, null, 2));
  });

  test('when the API runs without keys, then its document is valid too and asks for none', async () => {
    const open = createOpenApiDocument({ limits: { maxSteps: 50, maxInputChars: 1000 }, toolNames: [], access: { open: true, loopbackOnly: true }, streamTokenTtlSeconds: 900, toolsListed: false });
    const result = await new Validator().validate(JSON.parse(JSON.stringify(open)));
    assert.ok(result.valid, JSON.stringify(result.errors, null, 2));
    assert.equal(open.components?.securitySchemes, undefined);
    assert.equal((open.paths?.['/v1/tools'] as object | undefined), undefined, 'no tool registry, no route');
  });

  test('when compared with the app\'s routes, then each route is one operation and each operation a route', () => {
    const app = stack.server.listeners('request')[0] as Express;
    const routes = new Set(routesOf((app as any).router.stack));
    const operations = new Set(Object.entries(document.paths as Record<string, object>).flatMap(([path, item]) => Object.keys(item).map((method) => `${method.toUpperCase()} ${path}`)));
    assert.deepEqual([...routes].filter((route) => !operations.has(route)).sort(), [], 'routes the document lacks');
    assert.deepEqual([...operations].filter((operation) => !routes.has(operation)).sort(), [], 'operations with no route');
  });

  test('when a body is checked by the document and by the router\'s zod schema, then both agree', async () => {
    const validate = componentValidator('RunRequest');
    const { maxSteps } = loadConfig({}).limits;
    const toolNames = (await api('GET', '/v1/tools')).body.tools.map((tool: { name: string }) => tool.name);
    const zod = runRequestSchema({ maxSteps, toolNames });
    assert.deepEqual(document.components.schemas.RunRequest.properties.tools.items.enum, toolNames, 'the tools as registered');
    assert.equal(document.components.schemas.RunRequest.properties.maxSteps.maximum, maxSteps, 'MAX_STEPS_LIMIT as configured');
    const bodies: unknown[] = [
      { input: 'hi' },
      { input: 'hi', maxSteps: 5, tools: ['calculator'], cache: false, messages: [{ role: 'user', content: 'earlier' }] },
      { input: '' },
      { input: '   ' },
      { input: 'hi', maxSteps: 0 },
      { input: 'hi', maxSteps: maxSteps + 1 },
      { input: 'hi', tools: ['no_such_tool'] },
      { input: 'hi', extra: 1 },
      { input: 'hi', maxTokens: 0 },
      { input: 'hi', messages: [{ role: 'robot', content: 'x' }] },
      { model: 'x' },
    ];
    for (const body of bodies) assert.equal(validate(body), zod.safeParse(body).success, JSON.stringify(body));
  });
});

describe('real answers match the document', () => {
  test('when a run is started, streamed, read and listed, then every body and event is as documented', async () => {
    const created = await api('POST', '/v1/runs', { input: 'calc (3+4)/2', maxSteps: 4 });
    assert.equal(created.status, 202, JSON.stringify(created.body));
    assertDocumented('POST', '/v1/runs', 202, created.body);
    const runId = created.body.runId as string;

    const { events, status } = await readSse(`${stack.url}${created.body.links.events}`, { signal: AbortSignal.timeout(30_000) });
    assert.equal(status, 200);
    assert.equal(events.at(-1)?.event, 'run.completed', events.map((event) => event.event).join(','));
    const validateEvent = componentValidator('RunEvent');
    for (const event of events) {
      const message = { id: event.id, event: event.event, data: event.data };
      assert.ok(validateEvent(message), `${event.event}: ${ajv.errorsText(validateEvent.errors)}\n${JSON.stringify(message)}`);
    }
    assert.ok(events.some((event) => event.event === 'tool.completed'), 'the run called its tool');
    const resumed = await fetch(`${stack.url}/v1/runs/${runId}/events`, { headers: { authorization: `Bearer ${key}`, 'last-event-id': 'done' } });
    assert.ok(document.paths['/v1/runs/{runId}/events'].get.responses[String(resumed.status)], `status ${resumed.status} is documented`);
    await resumed.body?.cancel();

    const run = await api('GET', `/v1/runs/${runId}`);
    assert.equal(run.status, 200);
    assertDocumented('GET', '/v1/runs/{runId}', 200, run.body);
    // The checks bite: an undocumented field, event data or error code fails.
    const responseSchema = (path: string, method: string, status: number) => ajv.getSchema(pointer('paths', path, method, 'responses', String(status), 'content', 'application/json', 'schema'))!;
    assert.equal(responseSchema('/v1/runs/{runId}', 'get', 200)({ ...run.body, undocumented: true }), false);
    assert.equal(validateEvent({ id: '1.1.5', event: 'text.delta', data: { runId, step: 1, attempt: 1 } }), false);
    assert.equal(responseSchema('/v1/runs', 'post', 400)({ error: { code: 'made_up', message: 'no' } }), false);
    const list = await api('GET', '/v1/runs?limit=5');
    assertDocumented('GET', '/v1/runs', list.status, list.body);
    const token = await api('POST', `/v1/runs/${runId}/stream-tokens`, {});
    assertDocumented('POST', '/v1/runs/{runId}/stream-tokens', token.status, token.body);
    const withToken = await callApi(stack.url, 'GET', `/v1/runs/${runId}?token=${encodeURIComponent(token.body.streamToken)}`);
    assertDocumented('GET', '/v1/runs/{runId}', withToken.status, withToken.body);
    const cancel = await api('POST', `/v1/runs/${runId}/cancel`, {});
    assert.equal(cancel.status, 409);
    assertDocumented('POST', '/v1/runs/{runId}/cancel', 409, cancel.body);
    const decision = await api('POST', `/v1/runs/${runId}/approvals/call_1`, { approve: true });
    assertDocumented('POST', '/v1/runs/{runId}/approvals/{callId}', decision.status, decision.body);
  });

  test('when a session takes a message, then its answers are as documented', async () => {
    const created = await api('POST', '/v1/sessions', { system: 'Be brief.' });
    assertDocumented('POST', '/v1/sessions', created.status, created.body);
    const sessionId = created.body.sessionId as string;
    const turn = await api('POST', `/v1/sessions/${sessionId}/messages`, { input: 'Hello?' });
    assertDocumented('POST', '/v1/sessions/{sessionId}/messages', turn.status, turn.body);
    await readSse(`${stack.url}${turn.body.links.events}`, { signal: AbortSignal.timeout(30_000) });
    const session = await api('GET', `/v1/sessions/${sessionId}`);
    assertDocumented('GET', '/v1/sessions/{sessionId}', session.status, session.body);
    const missing = await api('GET', '/v1/sessions/session_missing');
    assertDocumented('GET', '/v1/sessions/{sessionId}', 404, missing.body);
  });

  test('when tools, health and the codec are asked, then their answers are as documented', async () => {
    const tools = await api('GET', '/v1/tools');
    assertDocumented('GET', '/v1/tools', tools.status, tools.body);
    assert.ok(tools.body.tools.length > 0);
    const health = await api('GET', '/healthz', undefined, {}, false);
    assertDocumented('GET', '/healthz', health.status, health.body);
    const codec = await api('POST', '/codec/decode', { payloads: [] });
    assertDocumented('POST', '/codec/decode', codec.status, codec.body);
  });

  test('when requests are refused, then each status and code is one the operation documents', async () => {
    const checks: Array<[string, string, string, Promise<{ status: number; body: any }>, number]> = [
      ['POST', '/v1/runs', 'empty input', api('POST', '/v1/runs', { input: '' }), 400],
      ['POST', '/v1/runs', 'unknown field', api('POST', '/v1/runs', { input: 'hi', colour: 'red' }), 400],
      ['POST', '/v1/runs', 'broken JSON', api('POST', '/v1/runs', '{"input": ', {}), 400],
      ['POST', '/v1/runs', 'not JSON', api('POST', '/v1/runs', 'input=hi', { 'content-type': 'text/plain' }), 415],
      ['POST', '/v1/runs', 'no key', api('POST', '/v1/runs', { input: 'hi' }, {}, false), 401],
      ['GET', '/v1/runs/{runId}', 'a wrong key', api('GET', '/v1/runs/run_x', undefined, { authorization: 'Bearer not-a-key-at-all-0000' }, false), 401],
      ['GET', '/v1/runs/{runId}', 'a forged stream token', api('GET', '/v1/runs/run_x?token=forged', undefined, {}, false), 401],
      ['GET', '/v1/runs/{runId}', 'an unknown run', api('GET', '/v1/runs/run_does_not_exist'), 404],
      ['GET', '/v1/runs/{runId}', 'a bad fromStep', api('GET', '/v1/runs/run_x?fromStep=zero'), 400],
      ['GET', '/v1/runs/{runId}/events', 'a bad Last-Event-ID', api('GET', '/v1/runs/run_x/events', undefined, { 'last-event-id': 'nonsense' }), 400],
      ['GET', '/v1/runs', 'a bad limit', api('GET', '/v1/runs?limit=1000'), 400],
      ['POST', '/v1/runs/{runId}/cancel', 'an unknown run', api('POST', '/v1/runs/run_does_not_exist/cancel', {}), 404],
      ['POST', '/v1/runs/{runId}/approvals/{callId}', 'a bad decision', api('POST', '/v1/runs/run_x/approvals/call_1', { approve: 'yes' }), 400],
      ['POST', '/v1/sessions', 'an unknown tool', api('POST', '/v1/sessions', { tools: ['nope'] }), 400],
    ];
    for (const [method, path, what, answer, status] of checks) {
      const { status: got, body } = await answer;
      assert.equal(got, status, `${what}: ${JSON.stringify(body)}`);
      assertDocumented(method, path, got, body);
    }
    // No route: every route may answer 404 not_found (the document says so once, in its description).
    const none = await api('GET', '/v1/nothing-here');
    assert.equal(none.status, 404);
    assert.equal(none.body.error.code, 'not_found');
    assert.match(document.info.description, /404 not_found/);
  });
});

describe('the interactive reference', () => {
  test('when /docs is opened without a key, then it loads only same-origin assets, all there, under a CSP of its own', async () => {
    const response = await fetch(`${stack.url}/docs`);
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type') ?? '', /text\/html/);
    const csp = response.headers.get('content-security-policy') ?? '';
    assert.match(csp, /script-src 'self'(;|$)/);
    assert.doesNotMatch(csp, /unsafe-eval|https?:|\*/);
    const html = await response.text();
    const references = [...html.matchAll(/\b(?:src|href|spec-url)="([^"]+)"/g)].map((match) => match[1]!);
    assert.ok(references.includes('/openapi.json'));
    for (const reference of references) {
      assert.ok(reference.startsWith('/') && !reference.startsWith('//'), `same origin: ${reference}`);
      const asset = await fetch(`${stack.url}${reference}`);
      assert.equal(asset.status, 200, reference);
      await asset.arrayBuffer();
    }
    assert.match(csp, /connect-src 'self'/, 'the console may call this API');
    // The API's own policy is unchanged elsewhere: nothing it serves may fetch.
    const other = (await fetch(`${stack.url}/healthz`)).headers.get('content-security-policy') ?? '';
    assert.match(other, /default-src 'none'/);
    assert.doesNotMatch(other, /connect-src/);
  });
});
