import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { EventSource } from 'eventsource';
import { sha256 } from '../src/api/auth/api-keys';
import { loadConfig } from '../src/config';
import { EventQueue } from '../src/relay/event-queue';
import { AccessError, resolveAccess } from '../src/api/auth/access';
import { StreamTokens } from '../src/api/auth/stream-tokens';
import { textFrames, toolCallFrames } from '../src/demo-model/chunks';
import type { ChatRequest, Reply } from '../src/demo-model/server';
import { fetchExecutionHistory } from '../src/temporal/history';
import { readSse } from './helpers/sse';
import { Client as McpClient } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { callApi, startTestStack, type TestStack } from './helpers/stack';
import { startTemporal } from './helpers/temporal';

// Nobody reads, steers or approves a run they were not given: keys with tenants and scopes, stream
// tokens for browsers, CORS and JSON-only writes, and an open API that answers loopback only.

const fast = { firstTokenDelayMs: 0, tokenDelayMs: 0 };
function reply(request: ChatRequest): Reply {
  const input = request.messages.findLast((message) => message.role === 'user')?.content ?? '';
  if (input.startsWith('slow')) return { kind: 'stream', frames: textFrames(request.model, 'slow '.repeat(300), { firstTokenDelayMs: 0, tokenDelayMs: 20 }) };
  if (input.startsWith('approve') && !request.messages.some((message) => message.role === 'tool')) {
    return { kind: 'stream', frames: toolCallFrames(request.model, [{ id: 'call_1', name: 'calculator', arguments: '{"expression":"1+1"}' }], fast) };
  }
  return { kind: 'stream', frames: textFrames(request.model, 'The answer is 42.', fast) };
}

const acmeKey = 'acme-full-key-0123456789abcdef';
const globexKey = 'globex-full-key-0123456789abcdef';
const readerKey = 'acme-reader-key-0123456789abcdef';
const writerKey = 'acme-writer-key-0123456789abcdef';
const streamSecret = 'stream-token-secret-for-the-tests-0123456789';
const origin = 'https://console.example';

let environment: TestWorkflowEnvironment;
let stack: TestStack;
let openStack: TestStack;

before(async () => {
  environment = await startTemporal();
  const file = join(mkdtempSync(join(tmpdir(), 'keys-')), 'keys.json');
  writeFileSync(
    file,
    JSON.stringify([
      { id: 'acme-reader', sha256: sha256(readerKey).toString('hex'), tenant: 'acme', scopes: ['runs:read'] },
      { id: 'acme-writer', sha256: sha256(writerKey).toString('hex'), tenant: 'acme', scopes: ['runs:write'] },
    ]),
  );
  stack = await startTestStack(environment, reply, {
    access: resolveAccess({ mode: 'auto', keysFile: file, keys: `acme:${acmeKey},globex:${globexKey}`, host: '127.0.0.1' }),
    corsOrigins: [origin],
    streamTokens: new StreamTokens(streamSecret),
    limits: { ...loadConfig({}).limits, allowedModels: ['scripted', 'gpt-4o-mini'], maxStreamsPerTenant: 3 },
  });
  openStack = await startTestStack(environment, reply);
});

after(async () => {
  await stack?.close();
  await openStack?.close();
  await environment?.teardown();
});

const call = (method: string, path: string, key?: string, body?: unknown, headers: Record<string, string> = {}) => callApi(stack.url, method, path, key, body, headers);

async function startRun(key: string, input = 'What is 6*7?') {
  const created = await call('POST', '/v1/runs', key, { input, tools: ['calculator'] });
  assert.equal(created.status, 202, JSON.stringify(created.body));
  return created.body as { runId: string; streamToken: string; links: { events: string } };
}

describe('API keys, tenants and scopes', () => {
  test('when a request has no key or a wrong one, then 401 with WWW-Authenticate; /healthz stays open', async () => {
    const missing = await call('GET', '/v1/runs/run_x');
    assert.equal(missing.status, 401);
    assert.equal(missing.body.error.code, 'unauthorized');
    assert.match(missing.headers.get('www-authenticate')!, /^Bearer realm="durable-agents"/);
    const wrong = await call('GET', '/v1/runs/run_x', 'not-a-key-of-this-api-at-all');
    assert.equal(wrong.status, 401);
    assert.match(wrong.headers.get('www-authenticate')!, /error="invalid_token"/);
    assert.doesNotMatch(JSON.stringify(wrong.body), /not-a-key/);
    assert.equal((await call('GET', '/healthz')).status, 200);
  });

  test('when a key lacks the scope a route needs, then 403 insufficient_scope', async () => {
    assert.equal((await call('POST', '/v1/runs', readerKey, { input: 'hi' })).status, 403);
    const run = await startRun(writerKey);
    assert.equal((await call('GET', `/v1/runs/${run.runId}`, writerKey)).status, 403);
    const read = await call('GET', `/v1/runs/${run.runId}`, readerKey);
    assert.equal(read.status, 200, 'a reader of the same tenant reads it');
    const cancel = await call('POST', `/v1/runs/${run.runId}/cancel`, readerKey, {});
    assert.equal(cancel.status, 403);
    assert.match(cancel.headers.get('www-authenticate')!, /scope="runs:cancel"/);
    assert.equal((await call('POST', `/v1/runs/${run.runId}/approvals/call_1`, readerKey, { approve: true })).status, 403);
    assert.equal((await call('POST', '/v1/sessions', readerKey, {})).status, 403);
  });

  test("when another tenant asks for a run or a session, then it does not exist for them (404)", async () => {
    const run = await startRun(acmeKey, 'slow please');
    for (const [method, path, body] of [
      ['GET', `/v1/runs/${run.runId}`],
      ['GET', `/v1/runs/${run.runId}/events`],
      ['POST', `/v1/runs/${run.runId}/cancel`, {}],
      ['POST', `/v1/runs/${run.runId}/approvals/call_1`, { approve: true }],
      ['POST', `/v1/runs/${run.runId}/stream-tokens`, {}],
    ] as const) {
      const answer = await call(method, path, globexKey, body);
      assert.equal(answer.status, 404, `${method} ${path}`);
      assert.equal(answer.body.error.code, 'run_not_found');
    }
    assert.equal((await call('GET', `/v1/runs/${run.runId}`, acmeKey)).body.status, 'running', 'still running: the other tenant did not cancel it');
    const session = await call('POST', '/v1/sessions', acmeKey, {});
    assert.equal((await call('GET', `/v1/sessions/${session.body.sessionId}`, globexKey)).status, 404);
    assert.equal((await call('POST', `/v1/sessions/${session.body.sessionId}/messages`, globexKey, { input: 'hi' })).status, 404);
    const message = await call('POST', `/v1/sessions/${session.body.sessionId}/messages`, acmeKey, { input: 'hi' });
    assert.equal(message.status, 202);
    assert.equal((await call('GET', `/v1/runs/${message.body.runId}`, globexKey)).status, 404, "a session turn belongs to the session's tenant");
    assert.equal((await call('GET', `/v1/runs/${message.body.runId}`, acmeKey)).status, 200);
    await call('POST', `/v1/runs/${run.runId}/cancel`, acmeKey, {});
  });

  test('when a run is recorded, then neither the key nor the stream token is in its history', async () => {
    const run = await startRun(acmeKey);
    await readSse(`${stack.url}/v1/runs/${run.runId}/events`, { headers: { authorization: `Bearer ${acmeKey}` } });
    const { events } = await fetchExecutionHistory(environment.client, run.runId);
    // Every string and byte field of every event (payloads are bytes; Buffer.toJSON would hide them).
    const parts: string[] = [];
    const walk = (value: unknown): void => {
      if (value instanceof Uint8Array) parts.push(Buffer.from(value).toString('latin1'));
      else if (typeof value === 'string') parts.push(value);
      else if (value && typeof value === 'object') for (const child of Object.values(value)) walk(child);
    };
    walk(events);
    const text = parts.join('\n');
    assert.ok(text.includes('acme'), 'the tenant is in the memo');
    assert.ok(!text.includes(acmeKey) && !text.includes(run.streamToken) && !text.includes(streamSecret));
  });
});

describe('stream tokens', () => {
  test('when the events link of a new run is opened in a real EventSource, then it streams the run without any header', async () => {
    const run = await startRun(acmeKey);
    assert.match(run.links.events, /\?token=/);
    const events: string[] = [];
    await new Promise<void>((resolve, reject) => {
      const source = new EventSource(`${stack.url}${run.links.events}`);
      for (const name of ['run.started', 'text.delta', 'run.completed']) {
        source.addEventListener(name, (event) => {
          events.push(name);
          if (name === 'run.completed') {
            assert.equal(JSON.parse(event.data).output, 'The answer is 42.');
            source.close();
            resolve();
          }
        });
      }
      source.onerror = () => {
        source.close();
        reject(new Error(`EventSource failed after ${events.join(', ')}`));
      };
    });
    assert.deepEqual([events[0], events.at(-1)], ['run.started', 'run.completed']);
  });

  test('when a token is used for another run, tampered with, expired or on a write, then it is refused', async () => {
    const first = await startRun(acmeKey);
    const second = await startRun(acmeKey);
    assert.equal((await call('GET', `/v1/runs/${first.runId}?token=${first.streamToken}`)).status, 200);
    assert.equal((await call('GET', `/v1/runs/${second.runId}/events?token=${first.streamToken}`)).status, 404, 'scoped to one run');
    const tampered = `${first.streamToken.slice(0, -4)}${first.streamToken.slice(-4) === 'AAAA' ? 'BBBB' : 'AAAA'}`;
    const bad = await call('GET', `/v1/runs/${first.runId}/events?token=${tampered}`);
    assert.equal(bad.status, 401);
    assert.equal(bad.body.error.code, 'invalid_stream_token');
    const expired = await new StreamTokens(streamSecret, -60).mint(first.runId, 'acme');
    const old = await call('GET', `/v1/runs/${first.runId}/events?token=${expired.token}`);
    assert.equal(old.status, 401);
    assert.match(old.body.error.message, /expired/);
    const otherSecret = await new StreamTokens('another-secret-another-secret-0123').mint(first.runId, 'acme');
    assert.equal((await call('GET', `/v1/runs/${first.runId}?token=${otherSecret.token}`)).status, 401);
    assert.equal((await call('POST', `/v1/runs/${first.runId}/cancel?token=${first.streamToken}`, undefined, {})).status, 401, 'read-only');
    const fresh = await call('POST', `/v1/runs/${first.runId}/stream-tokens`, acmeKey, {});
    assert.equal(fresh.status, 201);
    assert.equal((await readSse(`${stack.url}${fresh.body.links.events}`)).events.at(-1)?.event, 'run.completed');
  });
});

describe('browsers', () => {
  test('when a page of an allowed origin sends a preflight, then CORS allows Authorization and Last-Event-ID and exposes Last-Event-ID and Location', async () => {
    const preflight = await call('OPTIONS', '/v1/runs', undefined, undefined, { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,content-type,last-event-id' });
    assert.equal(preflight.status, 204);
    assert.equal(preflight.headers.get('access-control-allow-origin'), origin);
    assert.match(preflight.headers.get('access-control-allow-headers')!, /Authorization.*Last-Event-ID/);
    const created = await call('POST', '/v1/runs', acmeKey, { input: 'hi' }, { origin });
    assert.equal(created.headers.get('access-control-allow-origin'), origin);
    assert.match(created.headers.get('access-control-expose-headers')!, /Last-Event-ID.*Location/);
    const foreign = await call('OPTIONS', '/v1/runs', undefined, undefined, { origin: 'https://evil.example', 'access-control-request-method': 'POST' });
    assert.equal(foreign.headers.get('access-control-allow-origin'), null);
    assert.equal(created.headers.get('x-content-type-options'), 'nosniff', 'security headers');
  });

  test('when a cross-site form posts a cancel, then it is refused (415) and the run goes on', async () => {
    const run = await startRun(acmeKey, 'slow please');
    const form = await fetch(`${stack.url}/v1/runs/${run.runId}/cancel`, { method: 'POST', headers: { authorization: `Bearer ${acmeKey}`, 'content-type': 'application/x-www-form-urlencoded' }, body: 'x=1' });
    assert.equal(form.status, 415);
    const open = await fetch(`${openStack.url}/v1/runs/${run.runId}/cancel`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: '' });
    assert.equal(open.status, 415, 'a simple request, no preflight: refused too');
    assert.equal((await call('GET', `/v1/runs/${run.runId}`, acmeKey)).body.status, 'running');
    assert.equal((await call('POST', `/v1/runs/${run.runId}/cancel`, acmeKey, {})).status, 202);
  });
});

describe('an API without keys', () => {
  test('when a request comes with a foreign Host (DNS rebinding), then it is refused; loopback names are served', async () => {
    const { request } = await import('node:http');
    const status = (host: string) =>
      new Promise<number>((resolve, reject) => {
        const url = new URL(`${openStack.url}/healthz`);
        request({ host: url.hostname, port: url.port, path: '/v1/runs/run_x', headers: { host } }, (response) => {
          response.resume();
          resolve(response.statusCode!);
        })
          .on('error', reject)
          .end();
      });
    assert.equal(await status('evil.example'), 403);
    assert.equal(await status('attacker.example:80'), 403);
    assert.equal(await status(`localhost:${new URL(openStack.url).port}`), 404);
    assert.equal(await status('127.0.0.1'), 404);
  });

  test('when a request has more than 16 KB of headers, then Node refuses it with the API error shape (431), not a bare status', async () => {
    const { request } = await import('node:http');
    const url = new URL(openStack.url);
    const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      request({ host: url.hostname, port: url.port, path: '/v1/runs/run_x', headers: { 'x-padding': 'p'.repeat(20_000) } }, (response) => {
        let body = '';
        response.on('data', (chunk) => (body += chunk));
        response.on('end', () => resolve({ status: response.statusCode!, body }));
      })
        .on('error', reject)
        .end();
    });
    assert.equal(answer.status, 431);
    assert.equal(JSON.parse(answer.body).error.code, 'headers_too_large');
    assert.equal((await fetch(`${openStack.url}/healthz`)).status, 200);
  });

  test('when HOST is not loopback and there are no keys, then it refuses to start unless AUTH=off says so', () => {
    assert.throws(() => resolveAccess({ mode: 'auto', host: '0.0.0.0' }), AccessError);
    assert.throws(() => resolveAccess({ mode: 'on', host: '127.0.0.1' }), /AUTH=on needs API keys/);
    assert.equal(resolveAccess({ mode: 'off', host: '0.0.0.0' }).open, true);
    assert.equal(resolveAccess({ mode: 'auto', host: '127.0.0.1' }).loopbackOnly, true);
    assert.throws(() => resolveAccess({ mode: 'auto', host: '127.0.0.1', keys: 'acme:short' }), /shorter than 16/);
  });
});

describe('limits', () => {
  test('when a run names a model outside ALLOWED_MODELS, then 400 model_not_allowed', async () => {
    const refused = await call('POST', '/v1/runs', acmeKey, { input: 'hi', model: 'gpt-4-32k-expensive' });
    assert.equal(refused.status, 400);
    assert.equal(refused.body.error.code, 'model_not_allowed');
    assert.equal((await call('POST', '/v1/runs', acmeKey, { input: 'hi', model: 'gpt-4o-mini' })).status, 202);
  });

  test("when a tenant opens more streams than MAX_STREAMS_PER_TENANT on a replica, then 429 with Retry-After, and another tenant is not affected", async () => {
    const run = await startRun(acmeKey, 'slow please');
    const controllers = Array.from({ length: 3 }, () => new AbortController());
    const open = controllers.map((controller) => fetch(`${stack.url}/v1/runs/${run.runId}/events`, { headers: { authorization: `Bearer ${acmeKey}` }, signal: controller.signal }));
    const responses = await Promise.all(open);
    assert.deepEqual(responses.map((response) => response.status), [200, 200, 200]);
    const fourth = await call('GET', `/v1/runs/${run.runId}/events`, acmeKey);
    assert.equal(fourth.status, 429);
    assert.equal(fourth.body.error.code, 'too_many_streams');
    assert.equal(fourth.headers.get('retry-after'), '5');
    const other = await startRun(globexKey);
    assert.equal((await readSse(`${stack.url}/v1/runs/${other.runId}/events`, { headers: { authorization: `Bearer ${globexKey}` } })).status, 200);
    for (const controller of controllers) controller.abort();
    await Promise.all(responses.map((response) => response.body?.cancel().catch(() => undefined)));
    // Closed streams give their places back.
    let again = 0;
    for (let attempt = 0; attempt < 50 && again !== 200; attempt++) {
      const response = await fetch(`${stack.url}/v1/runs/${run.runId}/events`, { headers: { authorization: `Bearer ${acmeKey}` } });
      again = response.status;
      await response.body?.cancel();
      if (again !== 200) await new Promise((resolve) => setTimeout(resolve, 20));
    }
    assert.equal(again, 200);
    await call('POST', `/v1/runs/${run.runId}/cancel`, acmeKey, {});
  });

  test("when a tenant's streams are run events, a useChat stream and an MCP call that follows a run, then they share one MAX_STREAMS_PER_TENANT", async () => {
    const run = await startRun(acmeKey, 'slow please');
    const events = new AbortController();
    const eventsResponse = await fetch(`${stack.url}/v1/runs/${run.runId}/events`, { headers: { authorization: `Bearer ${acmeKey}` }, signal: events.signal });
    assert.equal(eventsResponse.status, 200);
    const chatMessage = (text: string) => ({ id: `chat-${randomUUID()}`, trigger: 'submit-message', messages: [{ id: randomUUID(), role: 'user', parts: [{ type: 'text', text }] }] });
    const chat = new AbortController();
    const chatResponse = await fetch(`${stack.url}/v1/chat`, { method: 'POST', headers: { authorization: `Bearer ${acmeKey}`, 'content-type': 'application/json' }, body: JSON.stringify(chatMessage('slow chat')), signal: chat.signal });
    assert.equal(chatResponse.status, 200);
    const mcp = new McpClient({ name: 'stream-slots-test', version: '1.0.0' });
    await mcp.connect(new StreamableHTTPClientTransport(new URL(`${stack.url}/mcp`), { requestInit: { headers: { authorization: `Bearer ${acmeKey}` } } }));
    let following!: () => void;
    const followed = new Promise<void>((resolve) => (following = resolve));
    const watching = new AbortController();
    const mcpCall = mcp.callTool({ name: 'start_run', arguments: { input: 'slow mcp' } }, undefined, { onprogress: () => following(), signal: watching.signal }).catch(() => undefined);
    await followed;
    try {
      // Three open, of three kinds: each door now refuses a fourth.
      const fourth = await call('GET', `/v1/runs/${run.runId}/events`, acmeKey);
      assert.equal(fourth.status, 429);
      assert.equal(fourth.body.error.code, 'too_many_streams');
      assert.match(fourth.body.error.message, /has 3 streams open/);
      const chatRefused = await call('POST', '/v1/chat', acmeKey, chatMessage('another'));
      assert.equal(chatRefused.status, 429);
      assert.equal(chatRefused.body.error.code, 'too_many_streams');
      const mcpRefused = (await mcp.callTool({ name: 'start_run', arguments: { input: 'another' } })) as { structuredContent?: { error?: { code: string } } };
      assert.equal(mcpRefused.structuredContent?.error?.code, 'too_many_streams');
      // The chat stream closes: its place goes to a run stream.
      chat.abort();
      await chatResponse.body?.cancel().catch(() => undefined);
      let again = 0;
      for (let attempt = 0; attempt < 50 && again !== 200; attempt++) {
        const response = await fetch(`${stack.url}/v1/runs/${run.runId}/events`, { headers: { authorization: `Bearer ${acmeKey}` } });
        again = response.status;
        await response.body?.cancel();
        if (again !== 200) await new Promise((resolve) => setTimeout(resolve, 20));
      }
      assert.equal(again, 200);
    } finally {
      events.abort();
      chat.abort();
      watching.abort();
      await eventsResponse.body?.cancel().catch(() => undefined);
      await mcpCall;
      await mcp.close();
      await call('POST', `/v1/runs/${run.runId}/cancel`, acmeKey, {});
    }
  });

  test('when a subscriber falls more than the queue bound behind, then it is cut off (to resume with Last-Event-ID) and takes no more memory', () => {
    const queue = new EventQueue(100);
    const event = { position: { kind: 'run-start' as const }, event: 'run.started' as const, data: { runId: 'r', step: 0, input: '', model: '' } };
    for (let i = 0; i < 100; i++) queue.deliver(event);
    assert.equal(queue.overflowed, false);
    queue.deliver(event);
    assert.equal(queue.overflowed, true);
    assert.equal(queue.closed, true);
    assert.deepEqual(queue.drain(), []);
  });
});
