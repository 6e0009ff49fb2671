import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { loadConfig } from '../src/config';
import { textFrames } from '../src/demo-model/chunks';
import { startModelServer } from '../src/demo-model/server';
import { startStack } from '../src/stack';
import { cliVersion, findTemporalCli } from '../src/temporal/cli';
import { ms, summarize, type Summary } from './stats';

// `npm run bench`: time to first token through the whole stack (POST /v1/runs to the first
// text.delta at an SSE client) against the same model read directly with the openai client, in
// the same run, interleaved pair by pair. The difference is what the orchestrator adds.
// BENCH_RUNS (default 100) sets the number of pairs; BENCH_FIRST_TOKEN_MS the model's delay.

const runs = Number(process.env.BENCH_RUNS ?? 100);
const warmup = 5;
const firstTokenDelayMs = Number(process.env.BENCH_FIRST_TOKEN_MS ?? 100);
const answer = Array.from({ length: 20 }, (_, index) => `token${index}`).join(' ');

Runtime.install({ logger: new DefaultLogger('WARN') });
const cli = await findTemporalCli();
const environment = await TestWorkflowEnvironment.createLocal(
  cli.kind === 'path' ? { server: { executable: { type: 'existing-path', path: cli.path }, ip: '127.0.0.1' } } : {},
);
const model = await startModelServer((request) => ({
  kind: 'stream',
  frames: textFrames(request.model, answer, { firstTokenDelayMs, tokenDelayMs: 2 }),
}));
const config = loadConfig({});
const stack = await startStack({
  client: environment.client,
  nativeConnection: environment.nativeConnection,
  namespace: environment.namespace ?? 'default',
  taskQueue: 'bench',
  model: { ...config.model, baseURL: model.baseURL, name: 'bench', useDemo: false },
  limits: config.limits,
  toolSettings: config.tools,
  temporalUiUrl: config.temporal.uiUrl,
});
const openai = new OpenAI({ baseURL: model.baseURL, apiKey: 'unused', maxRetries: 0 });

async function direct(): Promise<number> {
  const started = performance.now();
  const stream = await openai.chat.completions.create({ model: 'bench', messages: [{ role: 'user', content: 'hi' }], stream: true });
  let first = Number.NaN;
  for await (const chunk of stream) {
    if (Number.isNaN(first) && chunk.choices[0]?.delta.content) first = performance.now() - started;
  }
  return first;
}

async function throughStack(): Promise<number> {
  const started = performance.now();
  const created = await fetch(`${stack.url}/v1/runs`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ input: 'hi', tools: [] }),
  });
  const { runId } = (await created.json()) as { runId: string };
  const response = await fetch(`${stack.url}/v1/runs/${runId}/events`);
  const decoder = new TextDecoder();
  let buffer = '';
  let first = Number.NaN;
  for await (const bytes of response.body!) {
    buffer += decoder.decode(bytes as Uint8Array, { stream: true });
    if (Number.isNaN(first) && buffer.includes('event: text.delta')) first = performance.now() - started;
    if (buffer.includes('event: run.')) {
      if (/event: run\.(completed|failed|cancelled)/.test(buffer)) break;
    }
  }
  return first;
}

for (let i = 0; i < warmup; i++) {
  await direct();
  await throughStack();
}
const directTimes: number[] = [];
const stackTimes: number[] = [];
const added: number[] = [];
for (let i = 0; i < runs; i++) {
  const a = await direct();
  const b = await throughStack();
  directTimes.push(a);
  stackTimes.push(b);
  added.push(b - a);
  if ((i + 1) % 25 === 0) console.log(`${i + 1}/${runs} pairs`);
}

await stack.stop();
await model.close();
await environment.teardown();

const results = {
  date: new Date().toISOString(),
  machine: { cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length, memoryGiB: Math.round(totalmem() / 2 ** 30) },
  versions: { node: process.version, temporalCli: cli.kind === 'path' ? cliVersion(cli.path) : 'sdk download' },
  settings: { runs, warmup, firstTokenDelayMs },
  ttft: { direct: summarize(directTimes), stack: summarize(stackTimes), added: summarize(added) },
  raw: { direct: directTimes, stack: stackTimes },
};
mkdirSync(join(import.meta.dirname, 'results'), { recursive: true });
writeFileSync(join(import.meta.dirname, 'results', 'ttft.json'), `${JSON.stringify(results, null, 2)}\n`);

const row = (name: string, summary: Summary) => `| ${name} | ${ms(summary.p50)} | ${ms(summary.p90)} | ${ms(summary.p99)} | ${ms(summary.min)} | ${ms(summary.max)} |`;
const target = 50;
const page = `# Benchmarks

Reproduce with one command: \`npm run bench\` (\`BENCH_RUNS=100\` pairs by default). Raw figures:
[bench/results/ttft.json](../bench/results/ttft.json).

## Time to first token

What the orchestrator adds to the model's own time to first token: POST \`/v1/runs\` to the first
\`text.delta\` at an SSE client, through Temporal (embedded dev server), the worker, the streaming
activity, the in-process relay and the API, against the same model read directly with the
\`openai\` client. Both are measured in the same run, interleaved pair by pair, against a local
OpenAI-compatible model with a ${firstTokenDelayMs} ms first-token delay.

- Date: ${results.date}
- Machine: ${results.machine.cpu}, ${results.machine.cores} cores, ${results.machine.memoryGiB} GiB
- Node ${results.versions.node}; ${results.versions.temporalCli}
- ${runs} pairs after ${warmup} warm-up pairs

| measure | p50 | p90 | p99 | min | max |
| --- | --- | --- | --- | --- | --- |
${row('direct (baseline)', results.ttft.direct)}
${row('through the stack', results.ttft.stack)}
${row('**added by the orchestrator**', results.ttft.added)}

Target: p50 added ≤ ${target} ms. Result: p50 added ${ms(results.ttft.added.p50)}, ${results.ttft.added.p50 <= target ? 'met' : 'missed'}.

What the added time is made of: the workflow start RPC, one workflow task (the worker receives
the start, schedules the model activity), the activity task dispatch, then the same HTTP request
to the model that the baseline makes. Tokens after the first add no Temporal round trip: they
go from the activity to the relay to the SSE response in memory.
`;
mkdirSync(join(import.meta.dirname, '..', 'docs'), { recursive: true });
writeFileSync(join(import.meta.dirname, '..', 'docs', 'benchmarks.md'), page);
console.log(`TTFT added: p50 ${ms(results.ttft.added.p50)}, p99 ${ms(results.ttft.added.p99)} (direct p50 ${ms(results.ttft.direct.p50)}, stack p50 ${ms(results.ttft.stack.p50)})`);
