import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultPostgresDataDir, startCluster, type Cluster } from '../deploy/cluster/cluster';
import { spareNodeAddresses } from '../deploy/cluster/node-addresses';
import { textFrames } from '../src/demo-model/chunks';
import { preciseNow, startModelServer, type ModelServer } from '../src/demo-model/server';
import { startChild, type Child } from '../test/helpers/processes';
import { startSubscribers, tokenEnds } from './fanout';
import { timeToFirstToken } from './observability';
import { ms, summarize, type Summary } from './stats';

// The production topology against the embedded one, in the same run, on the same model: `npm
// start` with its defaults (one process, the dev server on SQLite) and `npm run cluster` (two
// Temporal nodes on PostgreSQL, two workers, two API replicas, HAProxy in front; every request
// through the load balancer). Both with API keys. Time to first token (interleaved pairs),
// fan-out (one run, many subscribers) and a burst of concurrent runs, each watched to the end.

export type ClusterSide = 'npm start' | 'cluster';

export interface ClusterSideResult {
  side: ClusterSide;
  ttft: Summary;
  fanout: { subscribers: number; complete: number; tokenLatency: Summary };
  burst: { runs: number; complete: number; ttft: Summary; tokenLatency: Summary; wallMs: number };
}

export interface ClusterBenchResult {
  settings: { pairs: number; fanoutSubscribers: number; fanoutTokens: number; burstRuns: number; burstTokens: number };
  sides: ClusterSideResult[];
}

interface Target {
  name: ClusterSide;
  url: string;
  apiKey: string;
}

const fanoutTokens = 200;
const burstTokens = 100;
const fanoutText = Array.from({ length: fanoutTokens }, (_, index) => `f${index}`).join(' ');
const burstText = Array.from({ length: burstTokens }, (_, index) => `b${index}`).join(' ');

function responder(request: { model: string; messages: Array<{ content?: unknown }> }) {
  const input = String(request.messages.at(-1)?.content ?? '');
  // Fan-out: the first token waits until every subscriber is connected.
  if (input.startsWith('fanout')) return { kind: 'stream' as const, frames: textFrames(request.model, fanoutText, { firstTokenDelayMs: 1500, tokenDelayMs: 10 }) };
  if (input.startsWith('burst')) return { kind: 'stream' as const, frames: textFrames(request.model, burstText, { firstTokenDelayMs: 200, tokenDelayMs: 20 }) };
  return { kind: 'stream' as const, frames: textFrames(request.model, 'Hello from the model, briefly.', { firstTokenDelayMs: 100, tokenDelayMs: 2 }) };
}

async function post(target: Target, input: string): Promise<{ runId: string; streamToken: string }> {
  const response = await fetch(`${target.url}/v1/runs`, { method: 'POST', headers: { authorization: `Bearer ${target.apiKey}`, 'content-type': 'application/json' }, body: JSON.stringify({ input, tools: [] }) });
  if (response.status !== 202) throw new Error(`POST /v1/runs on ${target.name}: ${response.status} ${await response.text()}`);
  return (await response.json()) as { runId: string; streamToken: string };
}

/** Token latency: each token's arrival at a subscriber minus when the model wrote it. */
function latencies(model: ModelServer, input: string, arrivals: number[][]): number[] {
  const request = model.requests.find((candidate) => candidate.body.messages.some((message) => message.content === input));
  if (!request) return [];
  return arrivals.flatMap((perSubscriber) => perSubscriber.map((arrival, token) => arrival - request.chunkTimes[token + 1]!));
}

async function fanout(target: Target, model: ModelServer, subscribers: number) {
  const input = `fanout ${target.name} ${randomBytes(4).toString('hex')}`;
  const { runId, streamToken } = await post(target, input);
  const client = await startSubscribers(subscribers, tokenEnds(fanoutText));
  client.add(`${target.url}/v1/runs/${runId}/events?token=${encodeURIComponent(streamToken)}`);
  const result = await client.finish();
  return { subscribers, complete: result.texts.filter((text) => text === fanoutText).length, tokenLatency: summarize(latencies(model, input, result.arrivals)) };
}

async function burst(target: Target, model: ModelServer, runs: number) {
  const client = await startSubscribers(1, tokenEnds(burstText));
  const started = preciseNow();
  /** In the order their URLs reached the subscribers (the order the POSTs answered): the order of the results. */
  const added: Array<{ input: string; sent: number }> = [];
  await Promise.all(
    Array.from({ length: runs }, async (_, index) => {
      const input = `burst ${target.name} ${index} ${randomBytes(4).toString('hex')}`;
      const sent = preciseNow();
      const created = await post(target, input);
      added.push({ input, sent });
      client.add(`${target.url}/v1/runs/${created.runId}/events?token=${encodeURIComponent(created.streamToken)}`);
    }),
  );
  const result = await client.finish();
  const wallMs = preciseNow() - started;
  const ttfts: number[] = [];
  const tokenLatencies: number[] = [];
  added.forEach((entry, index) => {
    const arrivals = result.arrivals[index] ?? [];
    if (arrivals.length > 0) ttfts.push(arrivals[0]! - entry.sent);
    tokenLatencies.push(...latencies(model, entry.input, [arrivals]));
  });
  return { runs, complete: result.texts.filter((text) => text === burstText).length, ttft: summarize(ttfts), tokenLatency: summarize(tokenLatencies), wallMs };
}

export async function clusterScenario(options: { pairs: number; fanoutSubscribers?: number; burstRuns?: number }): Promise<ClusterBenchResult> {
  const fanoutSubscribers = options.fanoutSubscribers ?? 100;
  const burstRuns = options.burstRuns ?? 100;
  const model = await startModelServer(responder);
  const apiKey = `bench-${randomBytes(16).toString('hex')}`;
  const dir = mkdtempSync(join(tmpdir(), 'bench-cluster-'));
  let main: Child | undefined;
  let cluster: Cluster | undefined;
  try {
    // npm start as users run it: its own dev server, its defaults, a key.
    // Writes are not rate limited here: a benchmark's key sends more than a client's 120 a minute.
    const appEnv = { OPENAI_BASE_URL: model.baseURL, OPENAI_API_KEY: 'sk-bench', MODEL: 'bench', RATE_LIMIT_WRITES_PER_MINUTE: '0' };
    main = startChild('src/main.ts', { ...appEnv, PORT: '0', API_KEYS: `bench:${apiKey}`, TEMPORAL_ADDRESS: '' });
    const mainUrl = (await main.waitFor(/API: +(http:\/\/\S+)/, 180_000))[1]!;
    cluster = await startCluster({ dir, nodeAddresses: spareNodeAddresses(), appEnv, log: () => undefined });
    const targets: Target[] = [
      { name: 'npm start', url: mainUrl, apiKey },
      { name: 'cluster', url: cluster.url, apiKey: cluster.apiKey },
    ];
    // Warm both (bundles, connections, both API replicas and workers behind the load balancer).
    for (let index = 0; index < 6; index++) for (const target of targets) await timeToFirstToken(target, target.apiKey, `warm ${index}`);
    const ttft = new Map<ClusterSide, number[]>(targets.map((target) => [target.name, []]));
    for (let pair = 0; pair < options.pairs; pair++) {
      for (const target of pair % 2 === 0 ? targets : [...targets].reverse()) ttft.get(target.name)!.push(await timeToFirstToken(target, target.apiKey, `ttft ${pair}`));
    }
    const sides: ClusterSideResult[] = [];
    for (const target of targets) {
      const fanned = await fanout(target, model, fanoutSubscribers);
      const burst_ = await burst(target, model, burstRuns);
      sides.push({ side: target.name, ttft: summarize(ttft.get(target.name)!), fanout: fanned, burst: burst_ });
      console.log(
        `cluster bench ${target.name}: TTFT p50 ${ms(summarize(ttft.get(target.name)!).p50)}; fan-out ${fanned.complete}/${fanoutSubscribers} complete, token latency p50 ${ms(fanned.tokenLatency.p50)}; ` +
          `burst ${burst_.complete}/${burstRuns} complete, TTFT p50 ${ms(burst_.ttft.p50)} p99 ${ms(burst_.ttft.p99)}, ${(burst_.wallMs / 1000).toFixed(1)} s`,
      );
    }
    return { settings: { pairs: options.pairs, fanoutSubscribers, fanoutTokens, burstRuns, burstTokens }, sides };
  } finally {
    await main?.stop();
    await cluster?.stop();
    rmSync(defaultPostgresDataDir(dir), { recursive: true, force: true });
    rmSync(dir, { recursive: true, force: true });
    await model.close();
  }
}

export function clusterSection(result: ClusterBenchResult): string {
  const [local, onCluster] = [result.sides.find((side) => side.side === 'npm start')!, result.sides.find((side) => side.side === 'cluster')!];
  const ratio = (a: number, b: number) => `${(a / b).toFixed(2)}x`;
  const { settings } = result;
  return `## On the cluster (PostgreSQL) next to the dev server

\`npm start\` with its defaults (one process, the embedded dev server on SQLite) and \`npm run cluster\`
(two Temporal server nodes on PostgreSQL, two workers, two API replicas, HAProxy in front of the APIs
and of Temporal's frontends), in the same run, on the same model server, both with API keys; on the
cluster every request goes through the load balancer. Time to first token: ${settings.pairs}
interleaved pairs (POST to the first \`text.delta\` at an SSE client; the model's first token after
100 ms). Fan-out: one run streaming ${settings.fanoutTokens} tokens to ${settings.fanoutSubscribers}
subscribers. Writes are not rate limited (\`RATE_LIMIT_WRITES_PER_MINUTE=0\`) on either side. Burst: ${settings.burstRuns} runs started at once, ${settings.burstTokens} tokens each
(first after 200 ms, then one every 20 ms), each watched by one subscriber. Subscribers run in a
process of their own. Cluster / npm start in the last column.

| | npm start (dev server) | cluster (PostgreSQL) | ratio |
| --- | --- | --- | --- |
| time to first token p50 | ${ms(local.ttft.p50)} | ${ms(onCluster.ttft.p50)} | ${ratio(onCluster.ttft.p50, local.ttft.p50)} |
| time to first token p90 | ${ms(local.ttft.p90)} | ${ms(onCluster.ttft.p90)} | ${ratio(onCluster.ttft.p90, local.ttft.p90)} |
| fan-out: subscribers with the whole text | ${local.fanout.complete} / ${local.fanout.subscribers} | ${onCluster.fanout.complete} / ${onCluster.fanout.subscribers} | |
| fan-out: token latency p50 / p99 | ${ms(local.fanout.tokenLatency.p50)} / ${ms(local.fanout.tokenLatency.p99)} | ${ms(onCluster.fanout.tokenLatency.p50)} / ${ms(onCluster.fanout.tokenLatency.p99)} | ${ratio(onCluster.fanout.tokenLatency.p50, local.fanout.tokenLatency.p50)} |
| burst: runs with the whole text | ${local.burst.complete} / ${local.burst.runs} | ${onCluster.burst.complete} / ${onCluster.burst.runs} | |
| burst: time to first token p50 / p99 | ${ms(local.burst.ttft.p50)} / ${ms(local.burst.ttft.p99)} | ${ms(onCluster.burst.ttft.p50)} / ${ms(onCluster.burst.ttft.p99)} | ${ratio(onCluster.burst.ttft.p50, local.burst.ttft.p50)} |
| burst: token latency p50 / p99 | ${ms(local.burst.tokenLatency.p50)} / ${ms(local.burst.tokenLatency.p99)} | ${ms(onCluster.burst.tokenLatency.p50)} / ${ms(onCluster.burst.tokenLatency.p99)} | ${ratio(onCluster.burst.tokenLatency.p50, local.burst.tokenLatency.p50)} |
| burst: all runs streamed to their end | ${(local.burst.wallMs / 1000).toFixed(1)} s | ${(onCluster.burst.wallMs / 1000).toFixed(1)} s | ${ratio(onCluster.burst.wallMs, local.burst.wallMs)} |

Both share this machine's two cores: the cluster's seven processes (two Temporal nodes,
PostgreSQL, two workers, two APIs) and HAProxy compete for them, where npm start is one process
and the dev server. On a real deployment each has machines of its own.
`;
}
