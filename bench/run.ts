import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { startBenchTemporal } from './harness';
import { adaptiveScenario, adaptiveSection } from './adaptive-concurrency';
import { cancelScenario, cancelSection } from './cancel';
import { estimatesScenario, estimatesSection } from './estimates';
import { cdfChart } from './charts';
import { concurrencyScenario, concurrencySection } from './concurrency';
import { costScenario, costSection } from './cost';
import { fanoutScenario, fanoutSection } from './fanout';
import { slowReaderScenario, slowReaderSection } from './slow-reader';
import { historyScenario, historySection } from './history';
import { longRunsScenario, longRunsSection } from './long-runs';
import { steadyScenario, steadySection } from './steady';
import { toolsScenario, toolsSection } from './tools';
import { streamingScenario, streamingSection } from './streaming';
import { throughputScenario, throughputSection } from './throughput';
import { ttftScenario, ttftSection } from './ttft';
import { observabilityScenario, observabilitySection } from './observability';
import { clusterScenario, clusterSection } from './cluster';

// `npm run bench` (quick, a few minutes) or `npm run bench -- --full` (longer): every scenario
// against one embedded Temporal, written to docs/benchmarks.md, docs/charts/*.svg and
// bench/results/results.json. BENCH_SCENARIOS picks scenarios (default all); a run of some
// scenarios only is written to bench/results/partial/ and leaves the full page alone.

const full = process.argv.includes('--full') || process.env.BENCH_MODE === 'full';
const mode = full
  ? { name: 'full', ttftPairs: 100, streamingRuns: 30, fanout: [1, 10, 100, 1000], concurrency: [10, 50, 100], steady: { runs: 1000, seconds: 60 }, longRuns: [10, 100, 500] }
  : { name: 'quick', ttftPairs: 30, streamingRuns: 10, fanout: [1, 10, 100], concurrency: [10, 50], steady: { runs: 200, seconds: 20 }, longRuns: [10, 100] };
const runs = Number(process.env.BENCH_RUNS ?? mode.ttftPairs);
const allScenarios = ['ttft', 'streaming', 'throughput', 'fanout', 'concurrency', 'steady', 'cost', 'history', 'long-runs', 'tools', 'cancel', 'adaptive', 'slow-reader', 'estimates', 'observability', 'cluster'];
const scenarios = new Set((process.env.BENCH_SCENARIOS ?? allScenarios.join(',')).split(',').map((name) => name.trim()).filter(Boolean));
const unknown = [...scenarios].filter((name) => !allScenarios.includes(name));
if (unknown.length > 0 || scenarios.size === 0) {
  console.error(`BENCH_SCENARIOS: unknown scenario ${unknown.map((name) => `"${name}"`).join(', ') || '(none given)'}; choose from ${allScenarios.join(', ')}`);
  process.exit(2);
}
const partial = allScenarios.some((name) => !scenarios.has(name));
const modeFlag = full ? ' -- --full' : '';
/** A section with the one command that reproduces it, under its heading. */
const reproducible = (scenario: string, section: string) => {
  const newline = section.indexOf('\n');
  return `${section.slice(0, newline)}\n\nReproduce: \`BENCH_SCENARIOS=${scenario} npm run bench${modeFlag}\`${section.slice(newline)}`;
};

const temporal = await startBenchTemporal();
const date = new Date().toISOString();
const machine = { cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length, memoryGiB: Math.round(totalmem() / 2 ** 30) };
const versions = { node: process.version, temporalCli: temporal.version };
const results: Record<string, unknown> = { date, machine, versions, mode: mode.name };
const sections: string[] = [];
const charts = new Map<string, string>();
try {
  if (scenarios.has('ttft')) {
    const ttft = await ttftScenario(temporal, runs);
    results.ttft = ttft;
    charts.set('ttft.svg', cdfChart('Time to first token', [{ name: 'direct', values: ttft.raw.direct }, { name: 'through the stack', values: ttft.raw.stack }]));
    sections.push(reproducible('ttft', `${ttftSection(ttft)}\n![Time to first token](charts/ttft.svg)\n`));
    console.log(`TTFT added: p50 ${ttft.added.p50.toFixed(1)} ms, p99 ${ttft.added.p99.toFixed(1)} ms`);
  }
  if (scenarios.has('streaming')) {
    const streaming = await streamingScenario(temporal, Number(process.env.BENCH_STREAMING_RUNS ?? mode.streamingRuns));
    results.streaming = streaming;
    charts.set('token-latency.svg', cdfChart('Token latency: arrival at the client minus model write', streaming.systems.map((system) => ({ name: system.name, values: system.raw.tokenLatency }))));
    sections.push(reproducible('streaming', `${streamingSection(streaming)}\n![Token latency](charts/token-latency.svg)\n`));
    for (const system of streaming.systems) {
      console.log(`streaming ${system.name}: TTFT p50 ${system.ttft.p50.toFixed(1)} ms, token latency p50 ${system.tokenLatency.p50.toFixed(2)} ms p99 ${system.tokenLatency.p99.toFixed(2)} ms`);
    }
  }
  if (scenarios.has('throughput')) {
    const throughput = await throughputScenario(temporal);
    results.throughput = throughput;
    sections.push(reproducible('throughput', throughputSection(throughput)));
  }
  if (scenarios.has('fanout')) {
    const fanout = await fanoutScenario(temporal, mode.fanout);
    results.fanout = fanout;
    sections.push(reproducible('fanout', fanoutSection(fanout)));
  }
  if (scenarios.has('concurrency')) {
    const concurrency = await concurrencyScenario(temporal, mode.concurrency);
    results.concurrency = concurrency;
    sections.push(reproducible('concurrency', concurrencySection(concurrency)));
  }
  if (scenarios.has('steady')) {
    // BENCH_STEADY_RUNS and BENCH_STEADY_SECONDS set another load (development).
    const steady = await steadyScenario(temporal, { runs: Number(process.env.BENCH_STEADY_RUNS ?? mode.steady.runs), seconds: Number(process.env.BENCH_STEADY_SECONDS ?? mode.steady.seconds) });
    results.steady = steady;
    sections.push(reproducible('steady', steadySection(steady)));
  }
  if (scenarios.has('cost')) {
    const cost = await costScenario(temporal, full ? 60 : 30);
    results.cost = cost;
    sections.push(reproducible('cost', costSection(cost)));
  }
  if (scenarios.has('history')) {
    const history = await historyScenario(temporal);
    results.history = history;
    sections.push(reproducible('history', historySection(history)));
    console.log(`history: ${history.map((row) => `${row.tokens} tokens -> ${row.events} events, ${row.bytes} bytes`).join('; ')}`);
  }
  if (scenarios.has('long-runs')) {
    // BENCH_LONG_RUNS=1000 (comma-separated model steps) measures other lengths.
    const lengths = process.env.BENCH_LONG_RUNS ? process.env.BENCH_LONG_RUNS.split(',').map(Number) : mode.longRuns;
    const longRuns = await longRunsScenario(temporal, lengths);
    results.longRuns = longRuns;
    sections.push(reproducible('long-runs', longRunsSection(longRuns)));
  }
  if (scenarios.has('tools')) {
    const tools = await toolsScenario(temporal);
    results.tools = tools;
    sections.push(reproducible('tools', toolsSection(tools)));
    console.log(`tools: parallel p50 ${tools.parallel.p50.toFixed(0)} ms, sequential p50 ${tools.sequential.p50.toFixed(0)} ms, speed-up ${tools.speedup.toFixed(2)}x`);
  }
  if (scenarios.has('adaptive')) {
    const adaptive = await adaptiveScenario(temporal, full ? 200 : 60, full ? { adaptive: 3, fixed: 3 } : { adaptive: 2, fixed: 1 });
    results.adaptive = adaptive;
    sections.push(reproducible('adaptive', adaptiveSection(adaptive)));
  }
  if (scenarios.has('cancel')) {
    const cancel = await cancelScenario(temporal, full ? 40 : 10);
    results.cancel = cancel;
    sections.push(reproducible('cancel', cancelSection(cancel)));
    console.log(`cancel: to model abort p50 ${cancel.toModelAbort.p50.toFixed(0)} ms, to run.cancelled p50 ${cancel.toStreamEnd.p50.toFixed(0)} ms`);
  }
  if (scenarios.has('estimates')) {
    const estimates = await estimatesScenario(temporal, full ? 80 : 40);
    results.estimates = estimates;
    sections.push(reproducible('estimates', estimatesSection(estimates)));
  }
  if (scenarios.has('observability')) {
    const observability = await observabilityScenario(temporal, { triples: full ? 300 : 30, fanoutRuns: full ? 6 : 2 });
    results.observability = observability;
    sections.push(reproducible('observability', observabilitySection(observability)));
  }
  if (scenarios.has('cluster')) {
    const cluster = await clusterScenario({ pairs: full ? 60 : 20 });
    results.cluster = cluster;
    sections.push(reproducible('cluster', clusterSection(cluster)));
  }
  if (scenarios.has('slow-reader')) {
    const slowReader = await slowReaderScenario(temporal, full ? 8000 : 2000, full);
    results.slowReader = slowReader;
    sections.push(reproducible('slow-reader', slowReaderSection(slowReader)));
  }
} finally {
  await temporal.close();
}

// The full page and its figures only from a run of every scenario.
const resultsDir = partial ? join(import.meta.dirname, 'results', 'partial') : join(import.meta.dirname, 'results');
const pageDir = partial ? resultsDir : join(import.meta.dirname, '..', 'docs');
const resultsLink = partial ? 'results.json' : '../bench/results/results.json';
mkdirSync(resultsDir, { recursive: true });
writeFileSync(join(resultsDir, 'results.json'), `${JSON.stringify(results, null, 2)}\n`);
const page = `# Benchmarks${partial ? ` (${[...scenarios].join(', ')} only)` : ''}

Reproduce with one command: \`npm run bench -- --full\` (this page) or \`npm run bench\` (quick:
fewer runs, at most 100 subscribers and 50 concurrent runs, 200 steady-rate runs over 20 s).
\`BENCH_SCENARIOS=ttft,streaming\` runs some scenarios only (written to bench/results/partial/,
not here). Every figure is a ratio or a difference against a baseline measured in the same run.
Raw figures:
[${partial ? 'results.json' : 'bench/results/results.json'}](${resultsLink}).

- Date: ${date}
- Machine: ${machine.cpu}, ${machine.cores} cores, ${machine.memoryGiB} GiB
- Node ${versions.node}; ${versions.temporalCli}; embedded dev server (SQLite in memory; the TTFT section also on \`npm start\`'s SQLite file); ${mode.name} mode

${sections.join('\n')}`;
mkdirSync(join(pageDir, 'charts'), { recursive: true });
for (const [name, svg] of charts) writeFileSync(join(pageDir, 'charts', name), svg);
writeFileSync(join(pageDir, 'benchmarks.md'), page);
console.log(`written: ${join(pageDir, 'benchmarks.md')}${partial ? ' (some scenarios only; docs/benchmarks.md is left as it was)' : ''}`);
