// CPU of one 100-token model step in the worker's process: llmStep (MockActivityEnvironment,
// so Temporal's activity context and its AsyncLocalStorage are there) against a scripted model in
// a process of its own, one token per millisecond (each its own read, as from a provider).
//
//   node --import tsx bench/model-step-cpu.ts [openai|anthropic] [steps]
//   ROOT=/path/to/another/tree ...      measures that tree's src (e.g. `git archive HEAD src` before a change)
//   BASELINE=/path/to/another/tree ...  also that tree, step by step in turn in the same process, so
//                                       that whatever else loads the machine weighs on both alike
//
// Prints CPU (user + system) per step, in ms, for the steps after a warm-up.

import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const format = process.argv[2] === 'anthropic' ? 'anthropic' : 'openai';
const tokens = 100;
const answer = Array.from({ length: tokens }, (_, index) => `word${index}`).join(' ');

if (process.argv[3] === 'serve') {
  // The model process: prints its base URL, serves until its standard input closes.
  const { textFrames } = await import('../src/demo-model/chunks');
  const { startModelServer } = await import('../src/demo-model/server');
  const { anthropicTextFrames } = await import('../src/demo-model/anthropic-frames');
  const { startAnthropicServer } = await import('../src/demo-model/anthropic-server');
  const server =
    format === 'anthropic'
      ? await startAnthropicServer((request) => ({ kind: 'stream', frames: anthropicTextFrames(request.model, answer, undefined, 1) }))
      : await startModelServer((request) => ({ kind: 'stream', frames: textFrames(request.model, answer, { firstTokenDelayMs: 1, tokenDelayMs: 1 }) }));
  console.log(`url ${server.baseURL}`);
  process.stdin.resume();
  process.stdin.on('end', () => process.exit(0));
} else {
  const steps = Number(process.argv[3] ?? 200);
  const root = process.env.ROOT ?? fileURLToPath(new URL('..', import.meta.url));
  const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), format, 'serve'], { stdio: ['pipe', 'pipe', 'inherit'] });
  const baseURL = await new Promise<string>((resolve) => {
    createInterface({ input: child.stdout! }).on('line', (line) => line.startsWith('url ') && resolve(line.slice(4)));
  });
  const { MockActivityEnvironment } = await import('@temporalio/testing');
  const model =
    format === 'anthropic'
      ? { timeoutMs: 30_000, name: 'anthropic:bench', anthropic: { baseURL, apiKey: 'k', maxTokens: 1024 } }
      : { baseURL, apiKey: 'k', timeoutMs: 30_000, name: 'bench' };
  /** One tree's llmStep, and the CPU its measured steps took. */
  const load = async (tree: string) => {
    const { createActivities } = await import(`${tree}/src/activities/index.ts`);
    const { MemoryRelay } = await import(`${tree}/src/relay/memory-relay.ts`);
    const { ToolRegistry } = await import(`${tree}/src/activities/tools/registry.ts`);
    const { llmStep } = createActivities({ relay: new MemoryRelay(), model, tools: new ToolRegistry([]) });
    return { tree, llmStep, cpuMicros: 0 };
  };
  const trees = [await load(root), ...(process.env.BASELINE ? [await load(process.env.BASELINE)] : [])];
  const runStep = async (subject: (typeof trees)[number], step: number, measured: boolean) => {
    const input = { runId: 'bench', step, model: model.name, messages: [{ role: 'user', content: 'go' }], tools: [] };
    const before = process.cpuUsage();
    const result = await new MockActivityEnvironment().run(subject.llmStep, input);
    const used = process.cpuUsage(before);
    if (measured) subject.cpuMicros += used.user + used.system;
    if ((result as { text: string }).text !== answer) throw new Error('the step did not assemble the answer');
  };
  for (let step = 1; step <= 20; step++) for (const subject of trees) await runStep(subject, step, false);
  for (let step = 1; step <= steps; step++) for (const subject of trees) await runStep(subject, step, true);
  for (const { tree, cpuMicros } of trees) console.log(JSON.stringify({ format, tree, steps, cpuMsPerStep: +(cpuMicros / 1000 / steps).toFixed(3) }));
  child.stdin!.end();
  process.exit(0);
}
