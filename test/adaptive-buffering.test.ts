import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { textFrames, tokenize } from '../src/demo-model/chunks';
import type { Responder } from '../src/demo-model/server';
import { startTemporal, type TestTemporal } from './helpers/temporal';
import { assembleText, assertIncreasingIds, readSse, type ReceivedEvent } from './helpers/sse';
import { readSlowly, viaUnixSocket, type SlowFrame, type UnixEntrance } from './helpers/slow-reader';
import { startTestStack, type TestStack } from './helpers/stack';

// Adaptive buffering (src/api/coalesce.ts, src/api/sse.ts): a reader whose socket pushes back
// gets its backlog of text deltas merged, with exact ids; one that keeps up gets every delta.

// UTF-16 offsets count the emoji as two: merged ids must still name exact places.
const longText = Array.from({ length: 6000 }, (_, index) => (index % 500 === 7 ? '😀✓' : `w${index}`)).join(' ');
const hugeText = Array.from({ length: 20_000 }, (_, index) => `h${index}`).join(' ');

const responder: Responder = (request) => {
  const input = request.messages.at(-1)?.content ?? '';
  if (input.startsWith('huge')) return { kind: 'stream', frames: textFrames(request.model, hugeText, { firstTokenDelayMs: 300, tokenDelayMs: 0 }) };
  return { kind: 'stream', frames: textFrames(request.model, longText, { firstTokenDelayMs: 500, tokenDelayMs: 1 }) };
};

let environment: TestTemporal;
let stack: TestStack;
let unix: UnixEntrance;

before(async () => {
  environment = await startTemporal();
  stack = await startTestStack(environment, responder);
  unix = await viaUnixSocket(stack.server);
});

after(async () => {
  await unix?.close();
  await stack?.close();
  await environment?.teardown();
});

const textOf = (events: Array<ReceivedEvent | SlowFrame>) => [...assembleText(events as ReceivedEvent[]).values()].join('');

async function startRun(input: string): Promise<string> {
  const response = await stack.post('/v1/runs', { input, tools: [] });
  assert.equal(response.status, 202, JSON.stringify(response.body));
  return response.body.runId;
}

/** Node's buffered bytes of the newest Unix-socket connection, sampled until stopped. */
function sampleBuffered(): { max(): number; stop(): void } {
  let max = 0;
  const timer = setInterval(() => {
    max = Math.max(max, unix.sockets.at(-1)?.writableLength ?? 0);
  }, 5);
  return { max: () => max, stop: () => clearInterval(timer) };
}

describe('a slow reader and a fast reader of one long answer', () => {
  test('when a reader reads at 10 KB/s, then it gets the whole text in fewer frames with exact ids, a resume from the middle continues exactly, and a fast reader gets one frame per delta', async (t) => {
    const runId = await startRun('long answer');
    const url = `${stack.url}/v1/runs/${runId}/events`;
    const buffered = sampleBuffered();
    const [slow, fast] = await Promise.all([readSlowly(url, { bytesPerSecond: 10_000, socketPath: unix.socketPath }), readSse(url)]);
    buffered.stop();

    const tokens = tokenize(longText);
    const fastDeltas = fast.events.filter((event) => event.event === 'text.delta');
    assert.deepEqual(fastDeltas.map((event) => event.data.delta), tokens, 'the fast reader: one frame per delta, as the model sent them');
    assert.equal(textOf(fast.events), longText);

    assert.equal(slow.ended, false, 'the slow reader got the run to its end');
    assertIncreasingIds(slow.frames as ReceivedEvent[]);
    assert.equal(textOf(slow.frames), longText, 'no character lost or doubled');
    const slowDeltas = slow.frames.filter((frame) => frame.event === 'text.delta');
    assert.ok(slowDeltas.length < tokens.length / 2, `coalesced: ${slowDeltas.length} frames for ${tokens.length} deltas`);
    // Each id is the offset after everything the reader has of the step: exact, merged or not.
    let offset = 0;
    for (const frame of slowDeltas) {
      offset += frame.data.delta.length;
      assert.equal(frame.id, `1.1.${offset}`);
    }
    assert.ok(buffered.max() < 64 * 1024, `Node buffered at most ${buffered.max()} bytes for the slow reader`);
    t.diagnostic(`slow reader: ${slowDeltas.length} delta frames for ${tokens.length} deltas, the largest ${Math.max(...slowDeltas.map((frame) => tokenize(frame.data.delta).length))} deltas; Node buffered at most ${buffered.max()} bytes`);

    const merged = slowDeltas.filter((frame) => tokenize(frame.data.delta).length > 1);
    const middle = merged[Math.floor(merged.length / 2)]!;
    const upTo = slow.frames.slice(0, slow.frames.indexOf(middle) + 1);
    const resumed = await readSse(url, { headers: { 'last-event-id': middle.id } });
    assert.equal(textOf(upTo) + textOf(resumed.events), longText, `resumed after ${middle.id}`);
    assert.equal(resumed.events.at(-1)?.event, 'run.completed');
  });

  test('when a reader stops reading, then it is still cut off once far behind, and resumes exactly from its last frame', async () => {
    const runId = await startRun('huge answer');
    const url = `${stack.url}/v1/runs/${runId}/events`;
    const completed = (async () => {
      while ((await stack.get(`/v1/runs/${runId}`)).body.status !== 'completed') await new Promise((resolve) => setTimeout(resolve, 200));
    })();
    const stopped = await readSlowly(url, { bytesPerSecond: 10_000_000, socketPath: unix.socketPath, startWhen: completed });
    assert.equal(stopped.ended, true, 'the stream ended before the run did');
    const text = textOf(stopped.frames);
    assert.ok(text.length < hugeText.length && hugeText.startsWith(text), `a prefix: ${text.length} of ${hugeText.length} characters`);
    const resumed = await readSse(url, { headers: { 'last-event-id': stopped.frames.at(-1)!.id } });
    assert.equal(text + textOf(resumed.events), hugeText);
  });
});
