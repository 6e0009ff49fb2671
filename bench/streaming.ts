import { defaultPayloadConverter } from '@temporalio/common';
import OpenAI from 'openai';
import { textFrames, tokenize } from '../src/demo-model/chunks';
import { preciseNow, type ModelServer } from '../src/demo-model/server';
import type { RunSummary } from '../src/shared/run-types';
import { startBenchStack, type BenchTemporal } from './harness';
import { blockingLlmStep, heartbeatLlmStep } from './peers';
import { runWorkflowStreamsPeer } from './workflow-streams-peer';
import { ms, summarize, type Summary } from './stats';

// Time to first token and inter-token latency of every way of getting a model's tokens to a
// client, in the same run against the same model: each token's arrival at the client minus the
// time the model server wrote it (one process clock), and POST to first token.

export interface SystemResult {
  name: string;
  ttft: Summary;
  /** Arrival minus model write time, over all tokens of all runs. */
  tokenLatency: Summary;
  raw: { ttft: number[]; tokenLatency: number[] };
}

export interface StreamingResult {
  settings: { runs: number; tokens: number; firstTokenDelayMs: number; tokenDelayMs: number };
  systems: SystemResult[];
}

interface Measured {
  started: number;
  arrivals: number[];
}

/** Marks each token when the text received so far covers it. */
function tracker(text: string) {
  const ends: number[] = [];
  let offset = 0;
  for (const token of tokenize(text)) ends.push((offset += token.length));
  const arrivals: number[] = [];
  let length = 0;
  return {
    arrivals,
    add(delta: string, at = preciseNow()) {
      length += delta.length;
      while (arrivals.length < ends.length && ends[arrivals.length]! <= length) arrivals.push(at);
    },
    done: () => arrivals.length === ends.length,
  };
}

async function readSseText(url: string, path: string, text: string, started: number): Promise<Measured> {
  const seen = tracker(text);
  const response = await fetch(`${url}${path}`);
  const decoder = new TextDecoder();
  let buffer = '';
  for await (const bytes of response.body!) {
    const at = preciseNow();
    buffer += decoder.decode(bytes as Uint8Array, { stream: true });
    let boundary: number;
    while ((boundary = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, boundary);
      buffer = buffer.slice(boundary + 2);
      if (block.includes('event: text.delta')) seen.add((JSON.parse(/^data: (.*)$/m.exec(block)![1]!) as { delta: string }).delta, at);
      if (/event: run\.(completed|failed|cancelled)/.test(block)) return { started, arrivals: seen.arrivals };
    }
  }
  return { started, arrivals: seen.arrivals };
}

async function post(url: string, input: string): Promise<string> {
  const response = await fetch(`${url}/v1/runs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ input, tools: [] }) });
  return ((await response.json()) as { runId: string }).runId;
}

export async function streamingScenario(temporal: BenchTemporal, runs: number, tokens = 50, firstTokenDelayMs = 100, tokenDelayMs = 10): Promise<StreamingResult> {
  const textOf = (input: string) => Array.from({ length: tokens }, (_, index) => `${input}_${index}`).join(' ');
  const responder = (request: { model: string; messages: Array<{ role: string; content?: string | null }> }) => {
    const input = request.messages.find((message) => message.role === 'user')?.content ?? 'x';
    return { kind: 'stream' as const, frames: textFrames(request.model, textOf(input), { firstTokenDelayMs, tokenDelayMs }) };
  };
  const stacks = {
    stack: await startBenchStack(temporal, responder, 'bench-streaming'),
    blocking: await startBenchStack(temporal, responder, 'bench-blocking', {}, (relay, baseURL) => ({ llmStep: blockingLlmStep(relay, baseURL) })),
    heartbeat: await startBenchStack(temporal, responder, 'bench-heartbeat', {}, (_relay, baseURL) => ({ llmStep: heartbeatLlmStep(baseURL) })),
  };
  const writeTimes = (model: ModelServer, input: string) => {
    const request = model.requests.find((candidate) => candidate.body.messages.some((message) => message.content === input))!;
    return request.chunkTimes.slice(1, tokens + 1);
  };

  const systems: Record<string, (input: string) => Promise<Measured>> = {
    direct: async (input) => {
      const openai = new OpenAI({ baseURL: stacks.stack.model.baseURL, apiKey: 'unused', maxRetries: 0 });
      const started = preciseNow();
      const seen = tracker(textOf(input));
      const stream = await openai.chat.completions.create({ model: 'bench', messages: [{ role: 'user', content: input }], stream: true });
      for await (const chunk of stream) if (chunk.choices[0]?.delta.content) seen.add(chunk.choices[0].delta.content);
      return { started, arrivals: seen.arrivals };
    },
    stack: async (input) => {
      const started = preciseNow();
      const runId = await post(stacks.stack.stack.url, input);
      return readSseText(stacks.stack.stack.url, `/v1/runs/${runId}/events`, textOf(input), started);
    },
    'blocking then replayed': async (input) => {
      const started = preciseNow();
      const runId = await post(stacks.blocking.stack.url, input);
      return readSseText(stacks.blocking.stack.url, `/v1/runs/${runId}/events`, textOf(input), started);
    },
    'heartbeat-details polling': async (input) => {
      const started = preciseNow();
      const runId = await post(stacks.heartbeat.stack.url, input);
      const seen = tracker(textOf(input));
      const handle = temporal.environment.client.workflow.getHandle(runId);
      let text = '';
      for (;;) {
        const description = await handle.describe();
        const payload = description.raw.pendingActivities?.[0]?.heartbeatDetails?.payloads?.[0];
        const now = payload ? (defaultPayloadConverter.fromPayload(payload) as { text: string }).text : undefined;
        if (now && now.length > text.length) {
          seen.add(now.slice(text.length));
          text = now;
        }
        if (description.status.name !== 'RUNNING') {
          const state = (await handle.result()) as RunSummary;
          const final = state.output ?? '';
          if (final.length > text.length) seen.add(final.slice(text.length));
          return { started, arrivals: seen.arrivals };
        }
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    },
  };

  const results: SystemResult[] = [];
  const raw = new Map<string, { ttft: number[]; tokenLatency: number[] }>(Object.keys(systems).map((name) => [name, { ttft: [], tokenLatency: [] }]));
  try {
    for (let i = 0; i < runs + 3; i++) {
      for (const [name, measure] of Object.entries(systems)) {
        const input = `${name.replace(/\W+/g, '')}${i}`;
        const { started, arrivals } = await measure(input);
        if (i < 3) continue; // warm-up
        const model = name === 'direct' || name === 'stack' ? stacks.stack.model : name.startsWith('blocking') ? stacks.blocking.model : stacks.heartbeat.model;
        const written = writeTimes(model, input);
        const bucket = raw.get(name)!;
        bucket.ttft.push(arrivals[0]! - started);
        arrivals.forEach((arrival, index) => bucket.tokenLatency.push(arrival - written[index]!));
      }
      if ((i + 1) % 10 === 0) console.log(`streaming: ${i + 1}/${runs + 3}`);
    }
    // Temporal Workflow Streams runs in a process of its own (its own @temporalio version).
    const prompts = Array.from({ length: runs + 3 }, (_, index) => `wfs${index}`);
    const peerRuns = await runWorkflowStreamsPeer(temporal.environment.address, stacks.stack.model.baseURL, prompts);
    const bucket = { ttft: [] as number[], tokenLatency: [] as number[] };
    peerRuns.slice(3).forEach((run) => {
      const seen = tracker(textOf(run.prompt));
      for (const delta of run.deltas) seen.add(delta.text, delta.at);
      const written = writeTimes(stacks.stack.model, run.prompt);
      bucket.ttft.push(seen.arrivals[0]! - run.started);
      seen.arrivals.forEach((arrival, index) => bucket.tokenLatency.push(arrival - written[index]!));
    });
    raw.set('Temporal Workflow Streams', bucket);
  } finally {
    await Promise.all(Object.values(stacks).map((bench) => bench.close()));
  }
  for (const [name, values] of raw) results.push({ name, ttft: summarize(values.ttft), tokenLatency: summarize(values.tokenLatency), raw: values });
  return { settings: { runs, tokens, firstTokenDelayMs, tokenDelayMs }, systems: results };
}

function ratioLine(result: StreamingResult, stack: SystemResult): string {
  const peer = result.systems.find((system) => system.name === 'Temporal Workflow Streams');
  if (!peer) return 'Workflow Streams not measured';
  const ratio = peer.tokenLatency.p50 / stack.tokenLatency.p50;
  return `${ratio.toFixed(0)} times lower than Workflow Streams at p50 (${ratio >= 20 ? 'met' : 'missed'})`;
}

export function streamingSection(result: StreamingResult): string {
  const direct = result.systems.find((system) => system.name === 'direct')!;
  const stack = result.systems.find((system) => system.name === 'stack')!;
  const rows = result.systems
    .map((system) => `| ${system.name} | ${ms(system.ttft.p50)} | ${ms(system.ttft.p50 - direct.ttft.p50)} | ${ms(system.tokenLatency.p50)} | ${ms(system.tokenLatency.p99)} | ${ms(system.tokenLatency.max)} |`)
    .join('\n');
  const { runs, tokens, firstTokenDelayMs, tokenDelayMs } = result.settings;
  return `## Streaming: first token and every token after it

Each way of getting a model's tokens to a client, in the same run, against the same local model
(${tokens} tokens, first after ${firstTokenDelayMs} ms, then one every ${tokenDelayMs} ms), ${runs} runs each after
3 warm-up runs, interleaved. Token latency is each token's arrival at the client minus the time
the model server wrote it (one process clock), so it is what the path adds per token.

| system | TTFT p50 | TTFT added p50 | token latency p50 | p99 | max |
| --- | --- | --- | --- | --- | --- |
${rows}

- **stack**: this project: streaming activity, in-process relay, SSE.
- **blocking then replayed**: the activity reads the whole answer, then sends it character by character.
- **heartbeat-details polling**: the text rides on activity heartbeats; the client polls \`describe()\` every 50 ms (what our API falls back to when a worker cannot be reached).
- **Temporal Workflow Streams**: \`@temporalio/workflow-streams\` 1.23 (its own package in \`bench/peers/workflow-streams\`): the activity publishes every delta with 100 ms batches (the library's default is 2 s), the client subscribes with its polling updates (100 ms cooldown).

Targets: token latency added p50 ≤ 2 ms and p99 ≤ 10 ms, and at least 20 times lower than Workflow
Streams at p50. Result: p50 ${ms(stack.tokenLatency.p50)}, p99 ${ms(stack.tokenLatency.p99)} (${stack.tokenLatency.p50 <= 2 && stack.tokenLatency.p99 <= 10 ? 'met' : 'missed'}); ${ratioLine(result, stack)}; the direct read itself adds ${ms(direct.tokenLatency.p50)} at p50.
`;
}
