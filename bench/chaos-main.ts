import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { runChaos, type ChaosOptions, type ChaosReport } from './chaos';

// `npm run chaos`: CHAOS_RUNS (default 40) runs; up to CHAOS_KILLS (default 20) kills, in turn,
// until the runs are done. `npm run chaos -- --cluster` runs them on `npm run cluster`'s topology
// and kills Temporal nodes too. Each mode writes its figures (bench/results/chaos.json,
// chaos-cluster.json); docs/reliability.md shows both.

const cluster = process.argv.includes('--cluster');
const options: ChaosOptions = {
  runs: Number(process.env.CHAOS_RUNS ?? 40),
  concurrency: Number(process.env.CHAOS_CONCURRENCY ?? 4),
  kills: Number(process.env.CHAOS_KILLS ?? 20),
  targets: cluster ? ['temporal', 'worker', 'api'] : ['worker', 'api'],
  stack: cluster ? 'cluster' : 'dev',
  // On the cluster, runs go on until every kill has happened (Temporal nodes among them).
  untilKilled: cluster,
  killEveryMs: [2000, 5000],
  log: (line) => console.log(line),
};
const report = await runChaos(options);
console.log(JSON.stringify(report, null, 2));
const resultsDir = join(import.meta.dirname, 'results');
mkdirSync(resultsDir, { recursive: true });
interface Saved {
  date: string;
  machine: string;
  options: Omit<ChaosOptions, 'log'>;
  report: ChaosReport;
}
const saved: Saved = { date: new Date().toISOString(), machine: `${cpus()[0]?.model ?? 'unknown'}, ${cpus().length} cores`, options: (({ log: _log, ...rest }) => rest)(options), report };
writeFileSync(join(resultsDir, cluster ? 'chaos-cluster.json' : 'chaos.json'), `${JSON.stringify(saved, null, 2)}\n`);

const load = (file: string): Saved | undefined => (existsSync(join(resultsDir, file)) ? (JSON.parse(readFileSync(join(resultsDir, file), 'utf8')) as Saved) : undefined);

function table(result: Saved): string {
  const { report: figures, options: used } = result;
  const kills = Object.entries(figures.kills)
    .filter(([, count]) => count > 0)
    .map(([target, count]) => `${count} ${target === 'temporal' ? 'Temporal node' : target === 'api' ? 'API' : 'worker'} kills`)
    .join(', ');
  return `- Date: ${result.date}; machine: ${result.machine ?? 'unknown'}
- ${figures.runs} runs, ${used.concurrency} at a time; ${kills} (in turn, every 2 to 5 s, ${used.untilKilled ? "runs going on until the last one" : "until the runs were done"}) in ${(figures.durationMs / 1000).toFixed(0)} s

| measure | result |
| --- | --- |
| runs completed | ${figures.completed} of ${figures.runs} |
| transcripts equal to what the clients assembled | ${figures.transcriptsEqual} of ${figures.runs} |
| characters lost | ${figures.charsLost} |
| characters duplicated | ${figures.charsDuplicated} |
| client reconnects | ${figures.reconnects} |
| model steps retried (a worker died under them) | ${figures.retriedSteps} |
| tool side effects executed more than once | ${figures.sideEffectsMoreThanOnce} of ${figures.runs} |
| ... more often than Temporal started the call (a completed call run again) | ${figures.sideEffectsBeyondAttempts ?? 'not measured'} of ${figures.runs} |
| tool side effects never executed | ${figures.sideEffectsNever} of ${figures.runs} |
`;
}

const dev = load('chaos.json');
const onCluster = load('chaos-cluster.json');
const page = `# Reliability

Reproduce with one command: \`npm run chaos\` (the embedded Temporal) or \`npm run chaos -- --cluster\`
(the production topology of \`npm run cluster\`); \`CHAOS_RUNS\`, \`CHAOS_KILLS\`, \`CHAOS_CONCURRENCY\`.
Raw figures: [bench/results/chaos.json](../bench/results/chaos.json) and
[bench/results/chaos-cluster.json](../bench/results/chaos-cluster.json). Short versions run in
\`npm test\`: test/chaos.test.ts (three runs, one worker kill) and test/cluster.test.ts (a Temporal
node, a worker and an API replica killed in turn).

The chaos run runs agent turns that call three tools at once (calculator; http_get of a URL whose
server counts each request, the side effect; a 1 s wait) and then stream a 60-token answer.
Meanwhile it kills (SIGKILL) a part, in turn, every 2 to 5 s and starts it again. Each SSE client
follows its run and, when the connection breaks, reconnects with \`Last-Event-ID\`. At the end it
compares, step by step, the text each client assembled (dropping what \`step.retrying\` told it to
drop) with the transcript Temporal kept, and each side effect with the attempts Temporal recorded
for its tool call.

## On the embedded Temporal

The dev server (SQLite), two workers and two API replicas as separate processes; workers and API
replicas are killed. Each client picks a live replica itself.

${dev ? table(dev) : 'Not run yet: `npm run chaos`.\n'}
## On the cluster

\`npm run cluster\`'s topology: two Temporal server nodes (all services each) on PostgreSQL, two
workers, two API replicas, HAProxy in front of the APIs and of Temporal's frontends. Temporal nodes
(down for 8 s each time, long enough for the other node to take over their shards), workers and API
replicas are killed. Clients go through the load balancer with an API key; the payloads Temporal
stores are encrypted.

${onCluster ? table(onCluster) : 'Not run yet: `npm run chaos -- --cluster`.\n'}
## Reading the side effects

http_get is declared idempotent, so Temporal retries it. When a worker dies after the request
reached the server but before Temporal recorded the result, the retry repeats the request: that
is a side effect executed twice, by design of at-least-once activities, and it shows as a second
attempt of that call in the run's history. A side effect executed more often than its call was
started would be a completed call run again: that must never happen, and the chaos run counts it.
A tool whose effect must happen once declares \`idempotent: false\` (one attempt) or deduplicates
by \`context.idempotencyKey\`.

A POST whose answer is lost (the replica died with it) leaves the client unsure whether its run
started; the chaos client sends it again, and the first run, if it started, runs to its end
unobserved. Its side effect counts under its own key.
`;
writeFileSync(join(import.meta.dirname, '..', 'docs', 'reliability.md'), page);
