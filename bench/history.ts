import { textFrames } from '../src/demo-model/chunks';
import { runToEnd, startBenchStack, type BenchTemporal } from './harness';

// History cost: workflow history events and bytes of one run as the answer grows from 100 to
// 10,000 tokens. Tokens travel through the relay, not through Temporal, so neither should grow
// beyond the size of the final text in the result.

export interface HistoryRow {
  tokens: number;
  events: number;
  bytes: number;
  textBytes: number;
}

export async function historyScenario(temporal: BenchTemporal, sizes = [100, 1000, 10_000]): Promise<HistoryRow[]> {
  const bench = await startBenchStack(
    temporal,
    (request) => {
      const tokens = Number(/tokens (\d+)/.exec(request.messages.at(-1)?.content ?? '')?.[1] ?? 10);
      return { kind: 'stream', frames: textFrames(request.model, Array.from({ length: tokens }, (_, index) => `t${index}`).join(' '), { firstTokenDelayMs: 0, tokenDelayMs: 0 }) };
    },
    'bench-history',
  );
  const rows: HistoryRow[] = [];
  try {
    for (const tokens of sizes) {
      const { runId } = await runToEnd(bench.stack.url, { input: `tokens ${tokens}`, tools: [] });
      const history = await temporal.environment.client.workflow.getHandle(runId).fetchHistory();
      const { default: proto } = await import('@temporalio/proto');
      const bytes = proto.temporal.api.history.v1.History.encode(history).finish().length;
      const textBytes = Buffer.byteLength(Array.from({ length: tokens }, (_, index) => `t${index}`).join(' '));
      rows.push({ tokens, events: history.events?.length ?? 0, bytes, textBytes });
    }
  } finally {
    await bench.close();
  }
  return rows;
}

/** Copies of the final text in a one-step run's history: the activity's result and the output in the workflow's result (a summary: steps stay in the activities' results). */
const textCopies = 2;

export function historySection(rows: HistoryRow[]): string {
  const table = rows.map((row) => `| ${row.tokens} | ${row.events} | ${row.bytes} | ${row.textBytes} | ${row.bytes - row.textBytes * textCopies} |`).join('\n');
  const constant = rows.every((row) => row.events === rows[0]!.events);
  return `## History cost

Workflow history of one run (one model step, no tools) as the streamed answer grows. Events stay
the same whatever the number of tokens (${constant ? 'met: zero history events per token' : 'missed'}). Bytes grow
only with the final text, which the history holds ${textCopies} times: in the activity's result, and as the
output in the workflow's result (a summary: the steps' content stays in the activities' results,
read in pages with the runPage query). The last column, bytes beyond those ${textCopies} copies, does
not grow with tokens.

| tokens | history events | history bytes | text bytes | bytes beyond ${textCopies} × text |
| --- | --- | --- | --- | --- |
${table}
`;
}
