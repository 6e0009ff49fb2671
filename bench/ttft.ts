import OpenAI from 'openai';
import { textFrames } from '../src/demo-model/chunks';
import { startBenchStack, runToEnd, type BenchTemporal } from './harness';
import { ms, summarize, type Summary } from './stats';

// Time to first token through the whole stack (POST /v1/runs to the first text.delta at an SSE
// client) against the same model read directly with the openai client, interleaved pair by pair.

export interface TtftResult {
  settings: { runs: number; warmup: number; firstTokenDelayMs: number };
  direct: Summary;
  stack: Summary;
  added: Summary;
  raw: { direct: number[]; stack: number[] };
}

export async function ttftScenario(temporal: BenchTemporal, runs: number, firstTokenDelayMs = 100): Promise<TtftResult> {
  const warmup = 5;
  const answer = Array.from({ length: 20 }, (_, index) => `token${index}`).join(' ');
  const bench = await startBenchStack(temporal, (request) => ({ kind: 'stream', frames: textFrames(request.model, answer, { firstTokenDelayMs, tokenDelayMs: 2 }) }), 'bench-ttft');
  const openai = new OpenAI({ baseURL: bench.model.baseURL, apiKey: 'unused', maxRetries: 0 });
  const direct = async () => {
    const started = performance.now();
    const stream = await openai.chat.completions.create({ model: 'bench', messages: [{ role: 'user', content: 'hi' }], stream: true });
    let first = Number.NaN;
    for await (const chunk of stream) if (Number.isNaN(first) && chunk.choices[0]?.delta.content) first = performance.now() - started;
    return first;
  };
  const throughStack = async () => {
    const run = await runToEnd(bench.stack.url, { input: 'hi', tools: [] });
    return run.firstDelta - run.started;
  };
  try {
    for (let i = 0; i < warmup; i++) {
      await direct();
      await throughStack();
    }
    const directTimes: number[] = [];
    const stackTimes: number[] = [];
    for (let i = 0; i < runs; i++) {
      directTimes.push(await direct());
      stackTimes.push(await throughStack());
      if ((i + 1) % 25 === 0) console.log(`ttft: ${i + 1}/${runs} pairs`);
    }
    const added = stackTimes.map((time, index) => time - directTimes[index]!);
    return {
      settings: { runs, warmup, firstTokenDelayMs },
      direct: summarize(directTimes),
      stack: summarize(stackTimes),
      added: summarize(added),
      raw: { direct: directTimes, stack: stackTimes },
    };
  } finally {
    await bench.close();
  }
}

const row = (name: string, summary: Summary) => `| ${name} | ${ms(summary.p50)} | ${ms(summary.p90)} | ${ms(summary.p99)} | ${ms(summary.min)} | ${ms(summary.max)} |`;

export function ttftSection(result: TtftResult): string {
  const target = 50;
  return `## Time to first token

What the orchestrator adds to the model's own time to first token: POST \`/v1/runs\` to the first
\`text.delta\` at an SSE client, through Temporal (embedded dev server), the worker, the streaming
activity, the in-process relay and the API, against the same model read directly with the
\`openai\` client. Both are measured in the same run, interleaved pair by pair, against a local
OpenAI-compatible model with a ${result.settings.firstTokenDelayMs} ms first-token delay;
${result.settings.runs} pairs after ${result.settings.warmup} warm-up pairs.

| measure | p50 | p90 | p99 | min | max |
| --- | --- | --- | --- | --- | --- |
${row('direct (baseline)', result.direct)}
${row('through the stack', result.stack)}
${row('**added by the orchestrator**', result.added)}

Target: p50 added ≤ ${target} ms. Result: p50 added ${ms(result.added.p50)}, ${result.added.p50 <= target ? 'met' : 'missed'}.

What the added time is made of: the workflow start RPC, one workflow task (the worker receives
the start, schedules the model activity), the activity task dispatch, then the same HTTP request
to the model that the baseline makes. Tokens after the first add no Temporal round trip: they
go from the activity to the relay to the SSE response in memory.
`;
}
