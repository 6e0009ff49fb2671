import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Connection } from '@temporalio/client';
import { msToTs } from '@temporalio/common/lib/time';
import { resolveAccess } from '../src/api/auth/access';
import { loadConfig } from '../src/config';
import { textFrames } from '../src/demo-model/chunks';
import type { ChatRequest, Reply } from '../src/demo-model/server';
import { tenantSearchAttribute } from '../src/shared/search-attributes';
import { ensureSearchAttributes } from '../src/temporal/search-attributes';
import { startTestStack, type TestStack } from './helpers/stack';
import { startTemporal, type TestTemporal } from './helpers/temporal';

// Every run and session carries its tenant as a Temporal search attribute, and
// MAX_RUNNING_RUNS_PER_TENANT counts a tenant's running runs there: on every replica, and one
// tenant at its cap leaves the others alone.

function reply(request: ChatRequest): Reply {
  const input = request.messages.findLast((message) => message.role === 'user')?.content ?? '';
  const pace = input.startsWith('slow') ? { firstTokenDelayMs: 0, tokenDelayMs: 40 } : { firstTokenDelayMs: 0, tokenDelayMs: 0 };
  return { kind: 'stream', frames: textFrames(request.model, input.startsWith('slow') ? 'slow '.repeat(500) : 'done', pace) };
}

const acmeKey = 'acme-quota-key-0123456789abcdef';
const globexKey = 'globex-quota-key-0123456789abcdef';
const bearer = (key: string) => ({ authorization: `Bearer ${key}` });

let temporal: TestTemporal;
let replicaA: TestStack;
let replicaB: TestStack;

before(async () => {
  temporal = await startTemporal();
  const access = resolveAccess({ mode: 'auto', keys: `acme:${acmeKey},globex:${globexKey}`, host: '127.0.0.1' });
  const limits = { ...loadConfig({}).limits, maxRunningRunsPerTenant: 2 };
  replicaA = await startTestStack(temporal, reply, { access, limits });
  // A second API replica (with its worker): the cap is counted in Temporal, not per process.
  replicaB = await startTestStack(temporal, reply, { access, limits });
});

after(async () => {
  await replicaB?.close();
  await replicaA?.close();
  await temporal?.teardown();
});

describe('tenants in Temporal visibility', () => {
  test('a run carries its tenant as a search attribute; visibility counts a tenant’s runs', async () => {
    const started = await replicaA.post('/v1/runs', { input: 'hello' }, bearer(globexKey));
    assert.equal(started.status, 202);
    const description = await temporal.client.workflow.getHandle(started.body.runId).describe();
    assert.equal(description.typedSearchAttributes.get(tenantSearchAttribute), 'globex');
    await temporal.client.workflow.getHandle(started.body.runId).result();
    const deadline = Date.now() + 10_000;
    let count = 0;
    while (Date.now() < deadline && count === 0) {
      count = (await temporal.client.workflow.count(`${tenantSearchAttribute.name} = "globex"`)).count;
      if (count === 0) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    assert.ok(count >= 1, 'visibility finds the run by tenant');
    assert.equal((await temporal.client.workflow.count(`${tenantSearchAttribute.name} = "nobody"`)).count, 0);
  });

  test('a session and the runs of its turns carry the tenant', async () => {
    const created = await replicaA.post('/v1/sessions', {}, bearer(globexKey));
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const sessionId = created.body.sessionId;
    const sent = await replicaA.post(`/v1/sessions/${sessionId}/messages`, { input: 'hi' }, bearer(globexKey));
    assert.equal(sent.status, 202, JSON.stringify(sent.body));
    const session = await temporal.client.workflow.getHandle(sessionId).describe();
    assert.equal(session.typedSearchAttributes.get(tenantSearchAttribute), 'globex');
    const turn = await temporal.client.workflow.getHandle(sent.body.runId).describe();
    assert.equal(turn.typedSearchAttributes.get(tenantSearchAttribute), 'globex');
  });

  test('MAX_RUNNING_RUNS_PER_TENANT: the next run is a 429 across replicas, other tenants go on, and a place frees when a run ends', async () => {
    const first = await replicaA.post('/v1/runs', { input: 'slow one' }, bearer(acmeKey));
    assert.equal(first.status, 202);
    // Visibility sees the first run before the other replica counts.
    const seen = Date.now() + 10_000;
    while (Date.now() < seen && (await temporal.client.workflow.count(`${tenantSearchAttribute.name} = "acme" AND ExecutionStatus = "Running"`)).count < 1) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const second = await replicaB.post('/v1/runs', { input: 'slow two' }, bearer(acmeKey));
    assert.equal(second.status, 202);
    // Replica B counted one (from visibility) and added its own start: it refuses the third at once.
    const third = await replicaB.post('/v1/runs', { input: 'slow three' }, bearer(acmeKey));
    assert.equal(third.status, 429, JSON.stringify(third.body));
    assert.equal(third.body.error.code, 'too_many_running_runs');
    assert.match(third.body.error.message, /MAX_RUNNING_RUNS_PER_TENANT is 2/);
    // A session message starts a run too: the same cap.
    const session = await replicaB.post('/v1/sessions', {}, bearer(acmeKey));
    const message = await replicaB.post(`/v1/sessions/${session.body.sessionId}/messages`, { input: 'slow four' }, bearer(acmeKey));
    assert.equal(message.status, 429);
    assert.equal(message.body.error.code, 'too_many_running_runs');
    // Another tenant is not affected.
    const other = await replicaB.post('/v1/runs', { input: 'hello' }, bearer(globexKey));
    assert.equal(other.status, 202);
    // A run ends: a place frees, on either replica, once visibility has counted it.
    assert.equal((await replicaA.post(`/v1/runs/${first.body.runId}/cancel`, {}, bearer(acmeKey))).status, 202);
    await temporal.client.workflow.getHandle(first.body.runId).result().catch(() => undefined);
    const deadline = Date.now() + 15_000;
    let again = await replicaA.post('/v1/runs', { input: 'slow five' }, bearer(acmeKey));
    while (again.status === 429 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      again = await replicaA.post('/v1/runs', { input: 'slow five' }, bearer(acmeKey));
    }
    assert.equal(again.status, 202, JSON.stringify(again.body));
    for (const runId of [second.body.runId, again.body.runId]) await replicaA.post(`/v1/runs/${runId}/cancel`, {}, bearer(acmeKey));
  });

  test('the 429 carries Retry-After', async () => {
    const limits = { ...loadConfig({}).limits, maxRunningRunsPerTenant: 1 };
    const stack = await startTestStack(temporal, reply, { limits, access: resolveAccess({ mode: 'auto', keys: `solo:solo-quota-key-0123456789abcdef`, host: '127.0.0.1' }) });
    try {
      const auth = bearer('solo-quota-key-0123456789abcdef');
      const first = await stack.post('/v1/runs', { input: 'slow solo' }, auth);
      assert.equal(first.status, 202);
      const response = await fetch(`${stack.url}/v1/runs`, { method: 'POST', headers: { 'content-type': 'application/json', ...auth }, body: JSON.stringify({ input: 'slow again' }) });
      assert.equal(response.status, 429);
      assert.equal(response.headers.get('retry-after'), '5');
      await stack.post(`/v1/runs/${first.body.runId}/cancel`, {}, auth);
    } finally {
      await stack.close();
    }
  });
});

describe('registering the search attributes on a cluster', () => {
  test('missing ones are added, at once from several replicas, and adding is idempotent', async () => {
    const connection = await Connection.connect({ address: temporal.address });
    try {
      const namespace = `fresh-${Date.now()}`;
      await connection.workflowService.registerNamespace({ namespace, workflowExecutionRetentionPeriod: msToTs('1 day') });
      const before = await connection.operatorService.listSearchAttributes({ namespace });
      assert.equal(before.customAttributes?.[tenantSearchAttribute.name], undefined);
      await Promise.all([ensureSearchAttributes(connection, namespace), ensureSearchAttributes(connection, namespace)]);
      await ensureSearchAttributes(connection, namespace);
      const listed = await connection.operatorService.listSearchAttributes({ namespace });
      assert.notEqual(listed.customAttributes?.[tenantSearchAttribute.name], undefined);
    } finally {
      await connection.close();
    }
  });
});
