import { textFrames } from '../src/demo-model/chunks';
import { startBenchStack, type BenchTemporal } from './harness';
import { ms, summarize, type Summary } from './stats';

// Cancel latency: POST /v1/runs/:id/cancel in the middle of a streamed answer, to the end of the
// client's stream (run.cancelled) and to the model request being aborted.

export interface CancelResult {
  runs: number;
  toStreamEnd: Summary;
  toModelAbort: Summary;
}

export async function cancelScenario(temporal: BenchTemporal, runs = 10): Promise<CancelResult> {
  const text = Array.from({ length: 400 }, (_, index) => `t${index}`).join(' ');
  const bench = await startBenchStack(temporal, (request) => ({ kind: 'stream', frames: textFrames(request.model, text, { firstTokenDelayMs: 20, tokenDelayMs: 20 }) }), 'bench-cancel');
  const toStreamEnd: number[] = [];
  const toModelAbort: number[] = [];
  try {
    for (let i = 0; i < runs; i++) {
      const created = await fetch(`${bench.stack.url}/v1/runs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ input: `cancel ${i}`, tools: [] }) });
      const { runId } = (await created.json()) as { runId: string };
      const response = await fetch(`${bench.stack.url}/v1/runs/${runId}/events`);
      const decoder = new TextDecoder();
      let buffer = '';
      let cancelledAt = 0;
      for await (const bytes of response.body!) {
        buffer += decoder.decode(bytes as Uint8Array, { stream: true });
        if (!cancelledAt && (buffer.match(/event: text\.delta/g)?.length ?? 0) >= 5) {
          cancelledAt = Date.now();
          await fetch(`${bench.stack.url}/v1/runs/${runId}/cancel`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
        }
        if (buffer.includes('event: run.cancelled')) break;
      }
      toStreamEnd.push(Date.now() - cancelledAt);
      const request = bench.model.requests.find((candidate) => candidate.body.messages.some((message) => message.content === `cancel ${i}`))!;
      // The model server notices the aborted request when the socket closes.
      for (let wait = 0; request.aborted !== true && wait < 100; wait++) await new Promise((resolve) => setTimeout(resolve, 20));
      toModelAbort.push((request.abortedAt ?? Date.now()) - cancelledAt);
    }
  } finally {
    await bench.close();
  }
  return { runs, toStreamEnd: summarize(toStreamEnd), toModelAbort: summarize(toModelAbort) };
}

export function cancelSection(result: CancelResult): string {
  return `## Cancel latency

POST \`/v1/runs/:id/cancel\` in the middle of a streamed answer (${result.runs} runs), to the model
request being aborted and to \`run.cancelled\` at the SSE client. The API tells the running step
directly (the relay), which aborts the model request at once; the run ends once Temporal's own
cancellation has reached the activity (it heartbeats every 20 ms after the API's word).

| measure | p50 | max |
| --- | --- | --- |
| cancel to model request aborted | ${ms(result.toModelAbort.p50)} | ${ms(result.toModelAbort.max)} |
| cancel to \`run.cancelled\` at the client | ${ms(result.toStreamEnd.p50)} | ${ms(result.toStreamEnd.max)} |
`;
}
