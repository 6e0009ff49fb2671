import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { collectTranscript, createClient } from '../src/client';
import { textFrames } from '../src/demo-model/chunks';
import { startModelServer, type ModelServer } from '../src/demo-model/server';
import { toolCallScriptInput, toolScript } from '../src/demo-model/tool-call-script';
import { redactedUrl } from '../src/telemetry/access-log';
import { createLogger } from '../src/telemetry/logger';
import { startChild, type Child } from './helpers/processes';
import { startTemporal, type TestTemporal } from './helpers/temporal';

// Structured logs (pino) of a real API and worker (npm run api / npm run worker) through a full
// run with every kind of credential in play: the logs are JSON lines with the run and the tenant
// on them, and not one of the secrets the run used appears anywhere in them.

const secrets = {
  apiKey: `acme-${randomBytes(16).toString('hex')}`,
  modelKey: `sk-model-${randomBytes(16).toString('hex')}`,
  relaySecret: randomBytes(32).toString('hex'),
  streamTokenSecret: randomBytes(32).toString('hex'),
  payloadKey: randomBytes(32).toString('base64'),
};

let temporal: TestTemporal;
let model: ModelServer;
let api: Child;
let worker: Child;
let apiUrl: string;

before(async () => {
  temporal = await startTemporal();
  model = await startModelServer((request) => {
    const first = request.messages.find((message) => message.role === 'user')?.content ?? '';
    if (first.startsWith('{"calls"')) return toolScript(request);
    return { kind: 'stream', frames: textFrames(request.model, 'Logged.', { firstTokenDelayMs: 0, tokenDelayMs: 0 }) };
  });
  const common = {
    TEMPORAL_ADDRESS: temporal.address,
    TASK_QUEUE: `logging-${randomUUID()}`,
    OPENAI_BASE_URL: model.baseURL,
    OPENAI_API_KEY: secrets.modelKey,
    RELAY_SECRET: secrets.relaySecret,
    PAYLOAD_KEYS: `k1:${secrets.payloadKey}`,
    LOG_LEVEL: 'debug',
    LOG_FORMAT: 'json',
  };
  worker = startChild('src/worker.ts', { ...common, STREAM_PORT: '0' });
  api = startChild('src/api/server.ts', { ...common, PORT: '0', API_KEYS: `acme:${secrets.apiKey}`, STREAM_TOKEN_SECRET: secrets.streamTokenSecret });
  await worker.waitFor(/live streams at/);
  apiUrl = (await api.waitFor(/API: (http:\/\/\S+?)[ ;]/))[1]!;
});

after(async () => {
  await Promise.all([api, worker].map((child) => child?.stop()));
  await model?.close();
  await temporal?.teardown();
});

/** The JSON lines of a process's output (its plain start-up lines left out). */
const jsonLines = (output: string) =>
  output.split('\n').flatMap((line) => {
    if (!line.startsWith('{')) return [];
    try {
      return [JSON.parse(line) as Record<string, any>];
    } catch {
      return [];
    }
  });

describe('structured logs', () => {
  test('when a full run goes through a keyed API and a worker, then the logs carry the run and tenant and none of the secrets it used', async () => {
    const client = createClient({ baseUrl: apiUrl, apiKey: secrets.apiKey });
    const created = await client.createRun({ input: toolCallScriptInput(['calculator', { expression: '6*7' }]) });
    // Read the way a browser does: the stream token in the query string.
    const transcript = await collectTranscript(createClient({ baseUrl: apiUrl }).streamRun(created.runId, { streamToken: created.streamToken }));
    assert.equal(transcript.end?.event, 'run.completed');
    await client.getRun(created.runId);
    // A refused key, and one sent where a stream token goes: each is a line too, without the key.
    const wrong = `wrong-${randomBytes(12).toString('hex')}`;
    assert.equal((await fetch(`${apiUrl}/v1/runs`, { headers: { authorization: `Bearer ${wrong}` } })).status, 401);
    assert.equal((await fetch(`${apiUrl}/v1/runs/${created.runId}/events?token=${secrets.apiKey}`)).status, 401);
    assert.ok(model.requests.some((request) => request.authorization === `Bearer ${secrets.modelKey}`), 'the model key was used');

    // The access line of the stream is written when the stream closes: wait for it.
    await api.waitFor(new RegExp(`"url":"/v1/runs/${created.runId}/events\\?token=\\[redacted\\]"`), 10_000);
    await api.waitFor(/"statusCode":401/, 10_000);
    const output = api.output() + worker.output();
    for (const [name, secret] of Object.entries({ ...secrets, streamToken: created.streamToken, wrongKey: wrong })) {
      assert.ok(!output.includes(secret), `the ${name} is not in the logs`);
    }

    const access = jsonLines(api.output()).filter((line) => line.req && line.res);
    const stream = access.find((line) => line.req.url === `/v1/runs/${created.runId}/events?token=[redacted]`);
    assert.ok(stream, 'the stream has its access line');
    assert.equal(stream.runId, created.runId);
    assert.equal(stream.tenant, 'acme');
    assert.equal(stream.res.statusCode, 200);
    assert.equal(stream.level, 20, 'a read that went well is debug');
    assert.equal(typeof stream.responseTime, 'number');
    const start = access.find((line) => line.req.method === 'POST' && line.req.url === '/v1/runs');
    assert.equal(start?.tenant, 'acme');
    assert.equal(start?.level, 30, 'info');
    const refused = access.find((line) => line.res.statusCode === 401);
    assert.equal(refused?.level, 40, 'a refusal is a warning');
    assert.equal(refused?.tenant, undefined, 'no tenant for a key that is not one');
    // The worker's lines about the run (Temporal's, at debug) name it as runId.
    const workerLines = jsonLines(worker.output());
    assert.ok(workerLines.length > 0, 'the worker logs JSON lines');
    assert.ok(workerLines.some((line) => line.runId === created.runId && typeof line.msg === 'string'), 'a worker line names the run');
    // Activity lines name their step, attempt and, for a tool call, the call and the tool.
    const toolLine = workerLines.find((line) => line.runId === created.runId && line.callId !== undefined);
    assert.ok(toolLine, 'a tool call\'s activity logged');
    assert.equal(toolLine.step, 2);
    assert.equal(toolLine.tool, 'calculator');
    assert.equal(typeof toolLine.attempt, 'number');
    const modelLine = workerLines.find((line) => line.runId === created.runId && line.step === 1);
    assert.equal(modelLine?.callId, undefined);
    assert.equal(typeof modelLine?.model, 'string');
  });

  test('when LOG_LEVEL is warn, then info lines are not written; URLs keep only harmless query values', () => {
    const written: string[] = [];
    const sink = new Writable({ write: (chunk, _encoding, done) => (written.push(String(chunk)), done()) });
    const logger = createLogger({ level: 'warn', format: 'json' }, sink);
    logger.info('not this');
    logger.warn({ runId: 'run_1', apiKey: 'hidden', nested: { token: 'hidden too' } }, 'this');
    assert.equal(written.length, 1);
    const line = JSON.parse(written[0]!) as Record<string, any>;
    assert.equal(line.msg, 'this');
    assert.equal(line.runId, 'run_1');
    assert.equal(line.apiKey, '[redacted]');
    assert.equal(line.nested.token, '[redacted]');
    assert.equal(redactedUrl('/v1/runs?status=running&limit=5&cursor=abc'), '/v1/runs?status=running&limit=5&cursor=[redacted]');
    assert.equal(redactedUrl('/v1/runs/run_1/events?token=secret&lastEventId=3&from=latest'), '/v1/runs/run_1/events?token=[redacted]&lastEventId=[redacted]&from=latest');
    assert.equal(redactedUrl('/healthz'), '/healthz');
  });
});
