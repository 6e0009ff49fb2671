import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { runChaos, type ChaosOptions } from './chaos';

// `npm run chaos`: CHAOS_RUNS (default 40) runs; up to CHAOS_KILLS (default 20) kills, workers and
// API replicas in turn, until the runs are done. Writes docs/reliability.md and bench/results/chaos.json.

const options: ChaosOptions = {
  runs: Number(process.env.CHAOS_RUNS ?? 40),
  concurrency: Number(process.env.CHAOS_CONCURRENCY ?? 4),
  kills: Number(process.env.CHAOS_KILLS ?? 20),
  targets: ['worker', 'api'],
  killEveryMs: [2000, 5000],
  log: (line) => console.log(line),
};
const report = await runChaos(options);
console.log(JSON.stringify(report, null, 2));
mkdirSync(join(import.meta.dirname, 'results'), { recursive: true });
writeFileSync(join(import.meta.dirname, 'results', 'chaos.json'), `${JSON.stringify({ date: new Date().toISOString(), options: { ...options, log: undefined }, report }, null, 2)}\n`);
const page = `# Reliability

Reproduce with one command: \`npm run chaos\` (\`CHAOS_RUNS\`, \`CHAOS_KILLS\`, \`CHAOS_CONCURRENCY\`).
Raw figures: [bench/results/chaos.json](../bench/results/chaos.json). A short version (three runs,
one worker kill) runs in \`npm test\` (test/chaos.test.ts).

The chaos run starts the embedded Temporal, two workers and two API replicas as separate
processes, and runs agent turns that call three tools at once (calculator; http_get of a URL
whose server counts each request, the side effect; a 1 s wait) and then stream a 60-token
answer. Meanwhile it kills (SIGKILL) a worker or an API replica, in turn, every 2 to 5 s and starts a
new one. Each SSE client follows its run through a random live replica and, when the connection
breaks, reconnects to another with \`Last-Event-ID\`. At the end it compares, step by step, the
text each client assembled (dropping what \`step.retrying\` told it to drop) with the transcript
Temporal kept.

- Date: ${new Date().toISOString()}; machine: ${cpus()[0]?.model ?? 'unknown'}, ${cpus().length} cores
- ${options.runs} runs, ${options.concurrency} at a time; ${report.kills.worker} worker kills and ${report.kills.api} API kills (in turn, every 2 to 5 s, until the runs were done) in ${(report.durationMs / 1000).toFixed(0)} s

| measure | result |
| --- | --- |
| runs completed | ${report.completed} of ${report.runs} |
| transcripts equal to what the clients assembled | ${report.transcriptsEqual} of ${report.runs} |
| characters lost | ${report.charsLost} |
| characters duplicated | ${report.charsDuplicated} |
| client reconnects | ${report.reconnects} |
| model steps retried (a worker died under them) | ${report.retriedSteps} |
| tool side effects executed more than once | ${report.sideEffectsMoreThanOnce} of ${report.runs} |
| tool side effects never executed | ${report.sideEffectsNever} of ${report.runs} |

How to read the side effects: http_get is declared idempotent, so Temporal retries it. When a
worker dies after the request reached the server but before Temporal recorded the result, the
retry repeats the request: that is a side effect executed twice, by design of at-least-once
activities. A tool whose effect must happen once declares \`idempotent: false\` (one attempt)
or deduplicates by \`context.idempotencyKey\`. Completed tool results are never run again.
`;
writeFileSync(join(import.meta.dirname, '..', 'docs', 'reliability.md'), page);
