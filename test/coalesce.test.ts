import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { coalesce } from '../src/api/coalesce';
import { formatEvent } from '../src/api/sse';
import { parseCursor } from '../src/shared/event-position';
import type { RunEvent } from '../src/shared/events';

// The merge a slow reader's backlog goes through, event by event (the end-to-end behaviour is in
// adaptive-buffering.test.ts).

const runId = 'run_1';
let offset = 0;
const delta = (text: string, step = 1, attempt = 1): RunEvent => {
  offset += text.length;
  return { event: 'text.delta', id: `${step}.${attempt}.${offset}`, data: { runId, step, attempt, delta: text } };
};
const progress = (callId: string, mark: number, id: string): RunEvent => ({ event: 'tool.progress', id, data: { runId, step: 2, callId, name: 'wait', progress: { message: `${callId} ${mark}` } } });
const names = (events: RunEvent[]) => events.map((event) => (event.event === 'text.delta' ? `delta:${event.data.delta}@${event.id}` : `${event.event}@${event.id}`));

describe('coalescing a backlog', () => {
  test('when deltas of one attempt follow each other, then they become one delta whose id is the last one', () => {
    offset = 0;
    const batch = [delta('Hel'), delta('lo '), delta('😀'), delta('!')];
    const merged = coalesce(batch);
    assert.deepEqual(names(merged), ['delta:Hello 😀!@1.1.9']);
    const cursor = parseCursor(merged[0]!.id);
    assert.deepEqual(cursor, { at: 'text', step: 1, attempt: 1, offset: 'Hello 😀!'.length });
  });

  test('when an event with a meaning comes between, then no merge spans it', () => {
    offset = 0;
    const retry: RunEvent = { event: 'step.retrying', id: '1.2.0', data: { runId, step: 1, attempt: 2, reason: 'timeout' } };
    const first = [delta('a'), delta('b')];
    offset = 0;
    const second = [delta('c', 1, 2), delta('d', 1, 2)];
    const done: RunEvent = { event: 'step.completed', id: '1.done', data: { runId, step: 1, kind: 'llm' } };
    offset = 0;
    const next: RunEvent[] = [{ event: 'step.started', id: '2.0.0', data: { runId, step: 2, kind: 'llm' } }, delta('e', 2), delta('f', 2)];
    assert.deepEqual(names(coalesce([...first, retry, ...second, done, ...next])), ['delta:ab@1.1.2', 'step.retrying@1.2.0', 'delta:cd@1.2.2', 'step.completed@1.done', 'step.started@2.0.0', 'delta:ef@2.1.2']);
  });

  test('when deltas of different attempts meet, then they stay apart', () => {
    offset = 0;
    const early = delta('x', 1, 1);
    offset = 0;
    assert.deepEqual(names(coalesce([early, delta('y', 1, 2)])), ['delta:x@1.1.1', 'delta:y@1.2.1']);
  });

  test('when a call reports progress several times, then only its latest is kept, never past its start or result', () => {
    const started: RunEvent = { event: 'tool.started', id: '2.t.0-1', data: { runId, step: 2, callId: 'b', name: 'wait', arguments: '{}' } };
    const completed: RunEvent = { event: 'tool.completed', id: '2.t.4-d', data: { runId, step: 2, callId: 'b', name: 'wait', result: 'ok', attempts: 1 } };
    const batch = [progress('a', 2, '2.t.2-0'), started, progress('a', 3, '2.t.3-1'), progress('b', 2, '2.t.3-2'), progress('a', 4, '2.t.4-2'), completed, progress('a', 5, '2.t.5-d')];
    assert.deepEqual(names(coalesce(batch)), ['tool.progress@2.t.2-0', 'tool.started@2.t.0-1', 'tool.progress@2.t.3-2', 'tool.progress@2.t.4-2', 'tool.completed@2.t.4-d', 'tool.progress@2.t.5-d']);
  });

  test('when a merged delta is written, then it carries its own JSON and the shared events keep theirs', () => {
    offset = 0;
    const batch = [delta('one '), delta('two')];
    const before = batch.map(formatEvent);
    const [merged] = coalesce(batch);
    assert.match(formatEvent(merged!), /^id: 1\.1\.7\nevent: text\.delta\ndata: \{"runId":"run_1","step":1,"attempt":1,"delta":"one two"\}\n\n$/);
    assert.deepEqual(batch.map(formatEvent), before);
    assert.equal((batch[0] as Extract<RunEvent, { event: 'text.delta' }>).data.delta, 'one ');
  });

  test('when usage estimates come among the deltas, then only the latest is kept, after the merged delta, and only if no text followed it', () => {
    const usage = (completionTokens: number, step = 1, attempt = 1): RunEvent => ({
      event: 'usage.updated',
      id: `${step}.${attempt}.${offset}`,
      data: { runId, step, attempt, model: 'gpt-4o', usage: { promptTokens: 10, completionTokens, totalTokens: 10 + completionTokens }, estimated: true },
    });
    offset = 0;
    const trailing = [delta('a'), usage(1), delta('b'), usage(2)];
    const kept = coalesce(trailing);
    assert.deepEqual(names(kept), ['delta:ab@1.1.2', 'usage.updated@1.1.2']);
    assert.equal(kept[1], trailing[3], 'the latest estimate, as it was');
    offset = 0;
    assert.deepEqual(names(coalesce([delta('a'), usage(1), delta('b')])), ['delta:ab@1.1.2'], 'an estimate with text after it is old once merged');
    offset = 0;
    assert.deepEqual(names(coalesce([usage(0), usage(0)])), ['usage.updated@1.1.0'], 'estimates alone: the latest');
    offset = 0;
    const done: RunEvent = { event: 'step.completed', id: '1.done', data: { runId, step: 1, kind: 'llm' } };
    assert.deepEqual(names(coalesce([delta('a'), usage(1), done])), ['delta:a@1.1.1', 'usage.updated@1.1.1', 'step.completed@1.done']);
  });

  test('when a tool call streams output, then a stretch of one call and attempt becomes one delta with the last id; other calls and attempts stay apart', () => {
    const output = (callId: string, attempt: number, text: string, id: string): RunEvent => ({ event: 'tool.output.delta', id, data: { runId, step: 2, callId, name: 'http_get', attempt, delta: text } });
    const batch = [
      output('a', 1, 'he', '2.t.1~1~2-1'),
      output('a', 1, 'llo', '2.t.1~1~5-1'),
      output('b', 1, 'x', '2.t.1~1~5-1~1~1'),
      output('b', 2, 'y', '2.t.1~1~5-1~2~1'),
      output('b', 2, 'z', '2.t.1~1~5-1~2~2'),
    ];
    const merged = coalesce(batch);
    assert.deepEqual(
      merged.map((event) => [event.id, (event.data as { delta: string }).delta]),
      [
        ['2.t.1~1~5-1', 'hello'],
        ['2.t.1~1~5-1~1~1', 'x'],
        ['2.t.1~1~5-1~2~2', 'yz'],
      ],
    );
    assert.equal((batch[0]!.data as { delta: string }).delta, 'he', 'the shared events are left as they were');
  });

  test('when nothing can merge, then the batch comes back as it was', () => {
    offset = 0;
    const batch = [delta('a'), { event: 'step.completed', id: '1.done', data: { runId, step: 1, kind: 'llm' } } as RunEvent];
    const out = coalesce(batch);
    assert.equal(out[0], batch[0]);
    assert.equal(out[1], batch[1]);
  });
});
