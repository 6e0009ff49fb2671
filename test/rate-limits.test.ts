import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { resolveAccess } from '../src/api/auth/access';
import { StreamTokens } from '../src/api/auth/stream-tokens';
import { loadConfig } from '../src/config';
import { textFrames } from '../src/demo-model/chunks';
import type { ChatRequest, Reply } from '../src/demo-model/server';
import { callApi, startTestStack, type TestStack } from './helpers/stack';
import { startTemporal } from './helpers/temporal';

// Writes are limited per key and minute (RATE_LIMIT_WRITES_PER_MINUTE): past it, 429 rate_limited
// with Retry-After; other keys, reads and an API with the limit off are untouched.

function reply(request: ChatRequest): Reply {
  const input = request.messages.findLast((message) => message.role === 'user')?.content ?? '';
  const pace = input.startsWith('slow') ? { firstTokenDelayMs: 0, tokenDelayMs: 20 } : { firstTokenDelayMs: 0, tokenDelayMs: 0 };
  return { kind: 'stream', frames: textFrames(request.model, input.startsWith('slow') ? 'slow '.repeat(300) : 'The answer is 42.', pace) };
}

// Three keys of one tenant: the limit is per key, not per tenant.
const keyA = 'acme-key-a-0123456789abcdef';
const keyB = 'acme-key-b-0123456789abcdef';
const keyC = 'acme-key-c-0123456789abcdef';
const keys = `acme:${keyA},acme:${keyB},acme:${keyC}`;

let environment: TestWorkflowEnvironment;
let limited: TestStack;
let unlimited: TestStack;
let open: TestStack;

before(async () => {
  environment = await startTemporal();
  const withLimit = (writesPerMinute: number) => ({ ...loadConfig({}).limits, writesPerMinute });
  const access = resolveAccess({ mode: 'on', keys, host: '127.0.0.1' });
  limited = await startTestStack(environment, reply, { access, streamTokens: new StreamTokens('stream-token-secret-for-the-tests-0123456789'), limits: withLimit(3) });
  unlimited = await startTestStack(environment, reply, { access, limits: withLimit(0) });
  open = await startTestStack(environment, reply, { limits: withLimit(2) });
});

after(async () => {
  await limited?.close();
  await unlimited?.close();
  await open?.close();
  await environment?.teardown();
});

const call = (stack: TestStack, method: 'GET' | 'POST', path: string, key?: string, body: unknown = method === 'POST' ? {} : undefined, headers: Record<string, string> = {}) =>
  callApi(stack.url, method, path, key, body, headers);

const cancelUnknown = (stack: TestStack, key?: string) => call(stack, 'POST', '/v1/runs/run_not_there/cancel', key);

function assertRateLimited(answer: Awaited<ReturnType<typeof call>>, key?: string) {
  assert.equal(answer.status, 429, JSON.stringify(answer.body));
  assert.equal(answer.body.error.code, 'rate_limited');
  const retryAfter = answer.headers.get('retry-after');
  assert.match(retryAfter ?? '', /^\d+$/, 'Retry-After in whole seconds');
  assert.ok(Number(retryAfter) >= 1 && Number(retryAfter) <= 60, `Retry-After ${retryAfter} is within the minute`);
  assert.match(answer.body.error.message, new RegExp(`RATE_LIMIT_WRITES_PER_MINUTE.*retry in ${retryAfter} s`));
  assert.match(answer.headers.get('ratelimit') ?? '', /^"writes"; r=0; t=\d+$/);
  if (key) {
    const everything = JSON.stringify([...answer.headers.entries()]) + JSON.stringify(answer.body);
    assert.doesNotMatch(everything, new RegExp(key), 'the key is in no header and no message');
  }
}

describe('write rate limits per key', () => {
  test('when a key has made its 3 writes this minute, then its 4th is 429 rate_limited with Retry-After and is not carried out; another key of the tenant still writes', async () => {
    const started = await call(limited, 'POST', '/v1/runs', keyA, { input: 'slow please' });
    assert.equal(started.status, 202, JSON.stringify(started.body));
    assert.match(started.headers.get('ratelimit') ?? '', /^"writes"; r=2; t=\d+$/, 'clients see what is left');
    const policy = started.headers.get('ratelimit-policy') ?? '';
    assert.match(policy, /^"writes"; q=3; w=60; pk=:[A-Za-z0-9+/=]+:$/);
    assert.doesNotMatch(policy, /acme/, 'the partition key is a hash, not the key id');
    const runId = started.body.runId as string;

    // Refused writes count too: a 404 costs the same lookup, and run ids must not be probed for free.
    const unknown = await cancelUnknown(limited, keyA);
    assert.equal(unknown.status, 404);
    assert.match(unknown.headers.get('ratelimit') ?? '', /^"writes"; r=1; /);
    const minted = await call(limited, 'POST', `/v1/runs/${runId}/stream-tokens`, keyA);
    assert.equal(minted.status, 201);

    assertRateLimited(await call(limited, 'POST', `/v1/runs/${runId}/cancel`, keyA), keyA);
    assertRateLimited(await call(limited, 'POST', '/v1/runs', keyA, '{"input": '), keyA);
    assert.equal((await call(limited, 'GET', `/v1/runs/${runId}`, keyA)).body.status, 'running', 'the refused cancel did not reach the run');

    const byB = await call(limited, 'POST', `/v1/runs/${runId}/cancel`, keyB);
    assert.equal(byB.status, 202, JSON.stringify(byB.body));
    assert.match(byB.headers.get('ratelimit') ?? '', /^"writes"; r=2; /, 'key B has its own count');
  });

  test('when a key is at its write limit, then its reads and its stream token still answer, without rate-limit headers', async () => {
    const started = await call(limited, 'POST', '/v1/runs', keyC, { input: 'What is 6*7?' });
    assert.equal(started.status, 202, JSON.stringify(started.body));
    for (let attempt = 0; attempt < 2; attempt++) assert.equal((await cancelUnknown(limited, keyC)).status, 404);
    assertRateLimited(await cancelUnknown(limited, keyC), keyC);
    for (let read = 0; read < 5; read++) {
      const answer = await call(limited, 'GET', `/v1/runs/${started.body.runId}`, keyC);
      assert.equal(answer.status, 200, JSON.stringify(answer.body));
      assert.equal(answer.headers.get('ratelimit'), null);
    }
    const withToken = await call(limited, 'GET', `/v1/runs/${started.body.runId}?token=${encodeURIComponent(started.body.streamToken)}`);
    assert.equal(withToken.status, 200, JSON.stringify(withToken.body));
  });

  test('when RATE_LIMIT_WRITES_PER_MINUTE is 0, then no write is limited', async () => {
    for (let attempt = 0; attempt < 6; attempt++) {
      const answer = await cancelUnknown(unlimited, keyA);
      assert.equal(answer.status, 404, JSON.stringify(answer.body));
      assert.equal(answer.headers.get('ratelimit'), null);
    }
  });

  test('when the API is open (no keys, loopback only), then writes are not limited: there is no key, and one machine is one user', async () => {
    for (let attempt = 0; attempt < 5; attempt++) {
      const answer = await cancelUnknown(open);
      assert.equal(answer.status, 404, JSON.stringify(answer.body));
      assert.equal(answer.headers.get('ratelimit'), null);
    }
  });

  test('when the configuration is read, then RATE_LIMIT_WRITES_PER_MINUTE defaults to 120, takes 0 for off, and refuses a negative value', () => {
    assert.equal(loadConfig({}).limits.writesPerMinute, 120);
    assert.equal(loadConfig({ RATE_LIMIT_WRITES_PER_MINUTE: '0' }).limits.writesPerMinute, 0);
    assert.throws(() => loadConfig({ RATE_LIMIT_WRITES_PER_MINUTE: '-1' }), /RATE_LIMIT_WRITES_PER_MINUTE/);
  });
});
