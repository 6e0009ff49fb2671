// The client of the time-to-first-token benchmark, in a process of its own (as a user's client
// is): pairs of (the model read directly with the openai client, a run through the stack),
// interleaved. Environment: MODEL_URL, STACK_URL, PAIRS, WARMUP. Prints one JSON line, times in
// milliseconds: {direct, stack: first-token times; runs: per measured run through the stack, its
// id and when (epoch ms) it was posted and its first text.delta arrived; directRequests: the same
// for the direct reads}. Direct reads say "direct <i>" and runs "ttft <i>", so the model's own
// records tell them apart.

import OpenAI from 'openai';
import { runToEnd } from './harness-client';

const openai = new OpenAI({ baseURL: process.env.MODEL_URL!, apiKey: 'unused', maxRetries: 0 });
const stackUrl = process.env.STACK_URL!;
const pairs = Number(process.env.PAIRS ?? 30);
const warmup = Number(process.env.WARMUP ?? 5);
const epoch = (time: number) => performance.timeOrigin + time;

async function direct(label: string): Promise<{ label: string; sent: number; firstDelta: number }> {
  const sent = performance.now();
  const stream = await openai.chat.completions.create({ model: 'bench', messages: [{ role: 'user', content: label }], stream: true });
  let firstDelta = Number.NaN;
  for await (const chunk of stream) if (Number.isNaN(firstDelta) && chunk.choices[0]?.delta.content) firstDelta = performance.now();
  return { label, sent: epoch(sent), firstDelta: epoch(firstDelta) };
}

async function throughStack(label: string) {
  const run = await runToEnd(stackUrl, { input: label, tools: [] });
  return { label, runId: run.runId, sent: epoch(run.started), firstDelta: epoch(run.firstDelta) };
}

for (let i = 0; i < warmup; i++) {
  await direct(`warm-up direct ${i}`);
  await throughStack(`warm-up ttft ${i}`);
}
const directRequests = [];
const runs = [];
for (let i = 0; i < pairs; i++) {
  directRequests.push(await direct(`direct ${i}`));
  runs.push(await throughStack(`ttft ${i}`));
  if ((i + 1) % 25 === 0) console.error(`ttft: ${i + 1}/${pairs} pairs`);
}
const firstToken = (read: { sent: number; firstDelta: number }) => read.firstDelta - read.sent;
console.log(JSON.stringify({ direct: directRequests.map(firstToken), stack: runs.map(firstToken), runs, directRequests }));
