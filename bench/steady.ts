import { cpus } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { textFrames } from '../src/demo-model/chunks';
import { preciseNow, type ChatRequest, type RecordedRequest, type Responder } from '../src/demo-model/server';
import { startSubscribers, tokenEnds, type SubscriberResult } from './fanout';
import { inEachLayout, selfMeter, temporalServerMeter, type BenchTemporal, type Layout, type LayoutTarget } from './harness';
import { ms, summarize, type Summary } from './stats';

// A steady rate (issue 11: "1,000 runs started over 60 s, a steady rate, not a burst: all
// complete, nothing lost"), in both layouts. Starts are spaced evenly against a clock, so a slow
// POST does not push later starts back; each run streams 100 tokens and is watched by one SSE
// subscriber in another process. Every run's text names its run, so a token delivered to the
// wrong stream shows as a mismatch. Nothing is left out: every run that was refused, lost, failed
// or delivered other text than the model wrote is counted and listed.

export interface SteadyOptions {
  runs: number;
  seconds: number;
}

export type Outcome = 'complete' | 'refused' | 'lost' | 'failed' | 'mismatched';

export interface SteadyRow {
  layout: Layout;
  runs: number;
  seconds: number;
  /** Runs per second: as scheduled, and as the POSTs actually left (first to last). */
  rate: { scheduled: number; achieved: number };
  /** POST sent minus its scheduled time (the event loop's lateness), and POST to its answer. */
  startLag: Summary;
  postLatency: Summary;
  outcomes: Record<Outcome, number>;
  /** Runs the model was called for more than once (a retried step). */
  retried: number;
  /** Runs whose POST was answered 429 (the running-runs cap) at least once, and those 429s: retried after Retry-After. */
  deferred: { runs: number; answers: number };
  /** Every run that is not complete, and why. */
  problems: Array<{ run: string; runId?: string; outcome: Outcome; detail: string }>;
  /** From the last POST to the last token of the last run at its subscriber. */
  drainMs: number;
  /** POST to the last token at the subscriber, per run; and the model's own time (request in to last token written), which a busy process stretches. */
  runTime: Summary;
  modelTime: Summary;
  /** Runs between their POST and their last token at the subscriber, at most, at once. */
  peakInFlight: number;
  /** POST to the first token at the subscriber; and that minus the model's own time to its first token. */
  ttft: Summary;
  ttftAdded: Summary;
  /** TTFT p50 of the first and of the last tenth of the runs (in start order): a backlog that grows shows here. */
  ttftTrend: { first: number; last: number };
  tokenLatency: Summary;
  /** The measured window (first POST to the last stream's end), and CPU per run of each process in it. */
  windowMs: number;
  processes: Array<{ name: string; cpuPerRunMs: number; peakRssMiB?: number }>;
}

export interface SteadyResult {
  runs: number;
  seconds: number;
  tokens: number;
  /** The machine's cores, for the CPU all processes used together. */
  cores: number;
  rows: SteadyRow[];
}

const tokens = 100;
const pace = { firstTokenDelayMs: 200, tokenDelayMs: 20 };
/** The model's own time for one run: its delay, then every token. */
const scriptedModelMs = pace.firstTokenDelayMs + tokens * pace.tokenDelayMs;
const warmupRuns = 10;
/** After the last start, how long the runs may take to end before the stragglers are cancelled (and counted lost). */
const drainLimitMs = 300_000;

/** A run's text: its tag in every token, all tags one width, so every run's tokens end at the same offsets. */
const textOf = (tag: string) => Array.from({ length: tokens }, (_, token) => `${tag}.${String(token).padStart(2, '0')}`).join(' ');
const tagOf = (prefix: string, index: number) => `${prefix}${String(index).padStart(5, '0')}`;
const inputOf = (tag: string) => `steady ${tag}`;
const tagFrom = (body: ChatRequest) => (body.messages.findLast((message) => message.role === 'user')?.content ?? '').split(' ').at(-1)!;

const responder: Responder = (request) => ({ kind: 'stream', frames: textFrames(request.model, textOf(tagFrom(request)), pace) });

/** What the model wrote for one request: the text of the chunks it sent before it stopped or was cut off. */
function transcript(request: RecordedRequest): string {
  const chunks = textFrames(request.body.model, textOf(tagFrom(request.body)), pace).flatMap((frame) => ('chunk' in frame ? [frame.chunk as { choices: Array<{ delta: { content?: string | null } }> }] : []));
  return chunks
    .slice(0, request.chunkTimes.length)
    .map((chunk) => chunk.choices[0]?.delta.content ?? '')
    .join('');
}

interface Started {
  tag: string;
  scheduled: number;
  sent: number;
  answered?: number;
  runId?: string;
  /** The POST was answered, but not with a run (status and code). */
  refused?: string;
  /** The POST got no answer. */
  error?: string;
  /** POSTs answered 429 (admission: the tenant's running-runs limit) before this one was accepted. */
  deferred?: number;
  /** Position among the subscriber process's streams. */
  subscriber?: number;
  /** Set when the run had not ended within drainLimitMs and the benchmark cancelled it. */
  cancelledByBench?: boolean;
  status?: string;
  output?: string;
  statusError?: string;
}

/** Sends the run's POST; a 429 (the tenant's running-runs limit) is retried after its Retry-After, as a client should. */
async function post(url: string, run: Started): Promise<void> {
  try {
    for (;;) {
      const response = await fetch(`${url}/v1/runs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ input: inputOf(run.tag), tools: [] }) });
      run.answered = preciseNow();
      const body = (await response.json().catch(() => ({}))) as { runId?: string; error?: { code?: string } };
      if (response.status === 429 && (run.deferred ?? 0) < 600) {
        run.deferred = (run.deferred ?? 0) + 1;
        await sleep(Math.max(100, Number(response.headers.get('retry-after') ?? 1) * 1000));
        continue;
      }
      if (response.status === 202 && body.runId) run.runId = body.runId;
      else run.refused = `${response.status} ${body.error?.code ?? ''}`.trim();
      return;
    }
  } catch (error) {
    run.error = `POST got no answer: ${(error as Error).message}`;
  }
}

/** Starts `count` runs `intervalMs` apart (each at its time on the clock), each subscribed as soon as it is accepted. */
async function startAtRate(url: string, count: number, intervalMs: number, prefix: string, subscribers: { add(url: string): void }): Promise<Started[]> {
  const origin = preciseNow() + 20;
  const runs: Started[] = [];
  const posts: Array<Promise<void>> = [];
  let subscribed = 0;
  for (let index = 0; index < count; index++) {
    const scheduled = origin + index * intervalMs;
    // Whole milliseconds up: a timer may fire up to a millisecond before a fractional time.
    const wait = Math.ceil(scheduled - preciseNow());
    if (wait > 0) await sleep(wait);
    const run: Started = { tag: tagOf(prefix, index), scheduled, sent: preciseNow() };
    runs.push(run);
    posts.push(
      post(url, run).then(() => {
        if (!run.runId) return;
        run.subscriber = subscribed++;
        subscribers.add(`${url}/v1/runs/${run.runId}/events`);
      }),
    );
  }
  await Promise.all(posts);
  return runs;
}

/** Each accepted run's status and output, read through the API once everything has ended (a few at a time). */
async function readStatuses(url: string, runs: Started[]): Promise<void> {
  const queue = runs.filter((run) => run.runId);
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      for (let run = queue.shift(); run; run = queue.shift()) {
        try {
          const response = await fetch(`${url}/v1/runs/${run.runId}`);
          const body = (await response.json()) as { status?: string; output?: string; error?: { code?: string; message?: string } };
          if (response.ok) {
            run.status = body.status;
            run.output = body.output;
            if (body.error) run.statusError = body.error.code ?? body.error.message;
          } else run.statusError = `GET answered ${response.status} ${body.error?.code ?? ''}`.trim();
        } catch (error) {
          run.statusError = `GET got no answer: ${(error as Error).message}`;
        }
      }
    }),
  );
}

/** Waits for every stream to end; past the limit, cancels the runs that have not ended, so that their streams end too. */
async function drain(url: string, runs: Started[], finished: Promise<SubscriberResult>): Promise<SubscriberResult> {
  const within = async (limitMs: number) => {
    const timeout = new AbortController();
    const result = await Promise.race([finished, sleep(limitMs, undefined, { signal: timeout.signal }).catch(() => undefined)]);
    timeout.abort();
    return result;
  };
  const result = await within(drainLimitMs);
  if (result) return result;
  await readStatuses(url, runs);
  const stuck = runs.filter((run) => run.runId && (run.status === 'running' || run.status === 'queued' || run.status === undefined));
  console.log(`steady: ${stuck.length} runs had not ended ${drainLimitMs / 1000} s after the last start; cancelling them`);
  for (const run of stuck) {
    run.cancelledByBench = true;
    await fetch(`${url}/v1/runs/${run.runId}/cancel`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' }).catch(() => undefined);
  }
  const late = await within(60_000);
  if (!late) throw new Error(`steady: SSE streams still open a minute after cancelling ${stuck.length} runs that had not ended (the subscriber process holds what it saw)`);
  return late;
}

/** The largest number of [start, end] intervals that overlap. */
function peakOverlap(intervals: Array<[number, number]>): number {
  const edges = intervals.flatMap(([start, end]): Array<[number, number]> => [[start, 1], [end, -1]]).sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let open = 0;
  let peak = 0;
  for (const [, change] of edges) peak = Math.max(peak, (open += change));
  return peak;
}

async function measureLayout(target: LayoutTarget, layout: Layout, options: SteadyOptions): Promise<SteadyRow> {
  const ends = tokenEnds(textOf(tagOf('r', 0)));
  // Warm-up (JIT, connections): runs at once, not counted.
  const warm = await startSubscribers(1, ends);
  await startAtRate(target.url, warmupRuns, 0, 'w', warm);
  await warm.finish();

  // Split, this process serves the model and sends the POSTs: metered too, so that every process's CPU shows.
  const meters = layout === 'split' ? [...target.meters, { name: 'benchmark (model, POSTs)', meter: selfMeter() }] : target.meters;
  const subscribers = await startSubscribers(1, ends);
  const peaks = meters.map(({ meter }) => meter.rssBytes());
  const sampler = setInterval(() => meters.forEach(({ meter }, index) => (peaks[index] = Math.max(peaks[index]!, meter.rssBytes()))), 100);
  const cpuBefore = meters.map(({ meter }) => meter.cpuMs());
  const windowStart = preciseNow();
  const runs = await startAtRate(target.url, options.runs, (options.seconds * 1000) / options.runs, 'r', subscribers);
  const result = await drain(target.url, runs, subscribers.finish());
  const windowMs = preciseNow() - windowStart;
  const cpu = meters.map(({ meter }, index) => meter.cpuMs() - cpuBefore[index]!);
  clearInterval(sampler);
  await readStatuses(target.url, runs);

  // The model's requests by run; the last one is the attempt whose text the run kept.
  const requests = new Map<string, RecordedRequest[]>();
  for (const request of target.model.requests) {
    const tag = tagFrom(request.body);
    requests.set(tag, [...(requests.get(tag) ?? []), request]);
  }
  const outcomes: Record<Outcome, number> = { complete: 0, refused: 0, lost: 0, failed: 0, mismatched: 0 };
  const problems: SteadyRow['problems'] = [];
  const ttfts: number[] = [];
  const added: number[] = [];
  const latencies: number[] = [];
  const runTimes: number[] = [];
  const modelTimes: number[] = [];
  const intervals: Array<[number, number]> = [];
  let retried = 0;
  let lastToken = Number.NaN;
  for (const run of runs) {
    const calls = requests.get(run.tag) ?? [];
    if (calls.length > 1) retried++;
    const arrivals = run.subscriber !== undefined ? result.arrivals[run.subscriber]! : [];
    const received = run.subscriber !== undefined ? result.texts[run.subscriber]! : '';
    const ended = arrivals.length === tokens ? arrivals.at(-1)! : undefined;
    if (ended !== undefined) lastToken = Number.isNaN(lastToken) ? ended : Math.max(lastToken, ended);
    if (run.runId) intervals.push([run.sent, ended ?? windowStart + windowMs]);
    const expected = textOf(run.tag);
    const written = calls.length > 0 ? transcript(calls.at(-1)!) : '';
    const [outcome, detail] = ((): [Outcome, string] => {
      if (run.error) return ['lost', run.error];
      if (run.refused) return ['refused', `POST answered ${run.refused}`];
      if (run.cancelledByBench) return ['lost', `had not ended ${drainLimitMs / 1000} s after the last start (cancelled by the benchmark)`];
      if (run.status === 'failed' || run.status === 'cancelled') return ['failed', `${run.status}${run.statusError ? `: ${run.statusError}` : ''}`];
      if (run.status !== 'completed') return ['lost', `status ${run.status ?? 'unknown'}${run.statusError ? ` (${run.statusError})` : ''} after every stream ended`];
      const where = (got: string) => [...expected].findIndex((character, index) => got[index] !== character);
      if (written !== expected) return ['mismatched', `the model wrote ${written.length} of ${expected.length} characters`];
      if (received !== written) return ['mismatched', `the subscriber got ${received.length} characters for the model's ${written.length}, first difference at ${where(received)}${calls.length > 1 ? ` (the model was called ${calls.length} times)` : ''}`];
      if (run.output !== written) return ['mismatched', `GET /v1/runs/:id output differs from the model's text at ${where(run.output ?? '')}`];
      return ['complete', ''];
    })();
    outcomes[outcome]++;
    if (outcome !== 'complete') {
      problems.push({ run: run.tag, ...(run.runId ? { runId: run.runId } : {}), outcome, detail });
      continue;
    }
    const model = calls.at(-1)!;
    ttfts.push(arrivals[0]! - run.sent);
    added.push(arrivals[0]! - run.sent - (model.chunkTimes[1]! - model.receivedAt));
    arrivals.forEach((arrival, token) => latencies.push(arrival - model.chunkTimes[token + 1]!));
    runTimes.push(ended! - run.sent);
    modelTimes.push(model.chunkTimes[tokens]! - model.receivedAt);
  }
  const sent = runs.map((run) => run.sent);
  const tenth = Math.max(1, Math.round(ttfts.length / 10));
  const answered = runs.flatMap((run) => (run.answered !== undefined ? [run.answered - run.sent] : []));
  const row: SteadyRow = {
    layout,
    runs: options.runs,
    seconds: options.seconds,
    rate: { scheduled: options.runs / options.seconds, achieved: ((runs.length - 1) * 1000) / (sent.at(-1)! - sent[0]!) },
    startLag: summarize(runs.map((run) => run.sent - run.scheduled)),
    postLatency: summarize(answered),
    outcomes,
    retried,
    deferred: { runs: runs.filter((run) => run.deferred).length, answers: runs.reduce((sum, run) => sum + (run.deferred ?? 0), 0) },
    problems,
    drainMs: lastToken - sent.at(-1)!,
    runTime: summarize(runTimes),
    modelTime: summarize(modelTimes),
    peakInFlight: peakOverlap(intervals),
    ttft: summarize(ttfts),
    ttftAdded: summarize(added),
    ttftTrend: { first: summarize(ttfts.slice(0, tenth)).p50, last: summarize(ttfts.slice(-tenth)).p50 },
    tokenLatency: summarize(latencies),
    windowMs,
    processes: [
      ...meters.map(({ name }, index) => ({ name, cpuPerRunMs: cpu[index]! / options.runs, peakRssMiB: peaks[index]! / 2 ** 20 })),
      { name: 'subscribers (client)', cpuPerRunMs: result.cpuMs / options.runs },
    ],
  };
  const counts = Object.entries(outcomes).map(([name, count]) => `${count} ${name}`).join(', ');
  console.log(
    `steady ${layout}: ${counts}; ${row.rate.achieved.toFixed(2)} runs/s, drain ${(row.drainMs / 1000).toFixed(2)} s, peak in flight ${row.peakInFlight}, ` +
      `TTFT added p50 ${row.ttftAdded.p50.toFixed(0)} ms p99 ${row.ttftAdded.p99.toFixed(0)} ms, token latency p50 ${row.tokenLatency.p50.toFixed(1)} ms p99 ${row.tokenLatency.p99.toFixed(1)} ms; ` +
      `CPU per run ${row.processes.map((entry) => `${entry.name} ${entry.cpuPerRunMs.toFixed(1)} ms`).join(', ')}`,
  );
  for (const problem of problems.slice(0, 10)) console.log(`  ${problem.run} ${problem.runId ?? ''}: ${problem.outcome}, ${problem.detail}`);
  return row;
}

export async function steadyScenario(temporal: BenchTemporal, options: SteadyOptions): Promise<SteadyResult> {
  const rows: SteadyRow[] = [];
  const temporalMeter = temporalServerMeter();
  await inEachLayout(temporal, responder, 'bench-steady', async (target, layout) => void rows.push(await measureLayout(target, layout, options)), temporalMeter ? [{ name: 'Temporal', meter: temporalMeter }] : []);
  return { runs: options.runs, seconds: options.seconds, tokens, cores: cpus().length, rows };
}

const seconds = (value: number) => `${(value / 1000).toFixed(2)} s`;
const pair = (summary: Summary, format = ms) => `p50 ${format(summary.p50)}, p99 ${format(summary.p99)}`;
const target = { runs: 1000, seconds: 60 };
const layoutNames: Record<Layout, string> = { 'one process': 'one process (`npm start`)', split: 'split (`npm run worker` + `npm run api`)' };

function layoutTable(row: SteadyRow, cores: number): string {
  const { complete, refused, lost, failed, mismatched } = row.outcomes;
  const coresUsed = row.processes.reduce((sum, entry) => sum + entry.cpuPerRunMs, 0) * row.runs / row.windowMs;
  const usage = row.processes.map((entry) => `${entry.name}: ${entry.cpuPerRunMs.toFixed(1)} ms${entry.peakRssMiB !== undefined ? ` (peak RSS ${entry.peakRssMiB.toFixed(0)} MiB)` : ''}`).join('<br>');
  const problems = row.problems.slice(0, 10).map((problem) => `- ${problem.run}${problem.runId ? ` (${problem.runId})` : ''}: ${problem.outcome}, ${problem.detail}`);
  const more = row.problems.length > 10 ? [`- and ${row.problems.length - 10} more (bench/results: \`steady.rows[].problems\`)`] : [];
  return `### ${layoutNames[row.layout]}

| measure | figure |
| --- | --- |
| runs started | ${row.runs} over ${row.seconds} s: ${row.rate.scheduled.toFixed(2)} a second scheduled, ${row.rate.achieved.toFixed(2)} achieved (POST sent after its time: ${pair(row.startLag)}) |
| POST \`/v1/runs\` answered in | ${pair(row.postLatency)} |
| **complete** | **${complete} / ${row.runs}** |
| refused, lost, failed, mismatched | ${refused}, ${lost}, ${failed}, ${mismatched} |
| runs whose model step was retried | ${row.retried} |
| runs admitted only after a 429 (the running-runs cap; the client waited Retry-After and sent again) | ${row.deferred.runs} (${row.deferred.answers} answers 429) |
| drain: last POST to the last run's last token | ${seconds(row.drainMs)} (a run's own model time: ${seconds(scriptedModelMs)}) |
| POST to last token, per run | ${pair(row.runTime, seconds)} (the model's own: ${pair(row.modelTime, seconds)}) |
| runs in flight, peak | ${row.peakInFlight} (the rate times a run's time p50: ${(row.rate.scheduled * row.runTime.p50 / 1000).toFixed(1)}) |
| TTFT | ${pair(row.ttft)}; p50 of the first tenth of the runs ${ms(row.ttftTrend.first)}, of the last tenth ${ms(row.ttftTrend.last)} |
| TTFT added | ${pair(row.ttftAdded)} |
| token latency | ${pair(row.tokenLatency)} |
| CPU per run | ${usage} |
| CPU of all the processes above | ${coresUsed.toFixed(2)} of the machine's ${cores} cores, over the ${seconds(row.windowMs)} window |
${problems.length > 0 ? `\nRuns that were not complete:\n\n${[...problems, ...more].join('\n')}\n` : ''}`;
}

export function steadySection(result: SteadyResult): string {
  const rate = result.runs / result.seconds;
  const scaled = result.runs !== target.runs || result.seconds !== target.seconds;
  const verdicts = result.rows.map((row) => {
    const whole = row.outcomes.complete === row.runs;
    const bad = (['refused', 'lost', 'failed', 'mismatched'] as const).filter((outcome) => row.outcomes[outcome] > 0).map((outcome) => `${row.outcomes[outcome]} ${outcome}`);
    const trend = `TTFT p50 ${ms(row.ttftTrend.first)} in the first tenth of the runs and ${ms(row.ttftTrend.last)} in the last; the last run ended ${seconds(row.drainMs)} after the last start`;
    return `- ${layoutNames[row.layout]}: ${whole ? '**held**' : '**missed**'}, ${row.outcomes.complete} / ${row.runs} complete${bad.length ? ` (${bad.join(', ')})` : ', nothing lost'}. Pace: ${trend}.`;
  });
  return `## Steady rate

${result.runs} runs started over ${result.seconds} s at a steady rate (${rate.toFixed(2)} a second, not a burst),
each POST at its own time on the clock, so a slow answer does not push the next start back. Each
run streams ${result.tokens} tokens (the first after ${pace.firstTokenDelayMs} ms, then one every ${pace.tokenDelayMs} ms: ${seconds(scriptedModelMs)} of the
model's own time) to one SSE subscriber in a separate process; every token names its run, so a
token delivered to another run's stream would show. Layouts as in Concurrency: **one process**
is \`npm start\` (in this benchmark that process also serves the model and sends the POSTs),
**split** is \`npm run worker\` and \`npm run api\` (the model is served by the benchmark's
process, metered too). Each layout first serves ${warmupRuns} runs that are not counted.

A run is **complete** when it ended \`completed\` (read with GET \`/v1/runs/:id\` once every stream
had ended), its subscriber assembled exactly the text the model wrote for it (no missing or
doubled characters) and the run's output says the same. A POST answered 429 (the tenant's
running-runs cap, \`MAX_RUNNING_RUNS_PER_TENANT\`) is sent again after its \`Retry-After\`, as a client
should; such runs are counted apart. Otherwise a run is **refused** (the POST was answered with
another error), **lost** (the POST got no
answer, or the run had not ended ${drainLimitMs / 60_000} minutes after the last start), **failed** (it ended failed
or cancelled) or **mismatched**. The drain is the time from the last POST to the last token of the
last run at its subscriber: with no backlog, about one run's own time plus TTFT. A run is in
flight from its POST to its last token at its subscriber. TTFT added is the subscriber's time to
first token minus the model's own (from the request's arrival at the model to its first token);
token latency is each token's arrival minus the model's write time. CPU per run is each process's
CPU from the first POST to the end of the last stream, divided by the runs.

Target (issue 11): ${target.runs.toLocaleString('en')} runs over ${target.seconds} s, all complete, nothing lost.${scaled ? ` This run started ${result.runs} over ${result.seconds} s (${rate.toFixed(2)} a second, against the target's ${(target.runs / target.seconds).toFixed(2)}): the verdict is for this load.` : ''}

${verdicts.join('\n')}

${result.rows.map((row) => layoutTable(row, result.cores)).join('\n')}`;
}
