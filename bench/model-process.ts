// A local OpenAI-compatible model in a process of its own, as a provider is in production: its
// work does not share an event loop with the stack or the client being measured. Environment:
// ANSWER (the text), FIRST_TOKEN_DELAY_MS, TOKEN_DELAY_MS. Prints "url <baseURL>"; when its
// standard input closes, prints one JSON line {requests: [{input, receivedAt, firstChunkAt}]}
// (the last user message; epoch ms) and exits.

import { textFrames } from '../src/demo-model/chunks';
import { preciseNow, startModelServer } from '../src/demo-model/server';

const answer = process.env.ANSWER ?? 'hello';
const pace = { firstTokenDelayMs: Number(process.env.FIRST_TOKEN_DELAY_MS ?? 100), tokenDelayMs: Number(process.env.TOKEN_DELAY_MS ?? 2) };
const arrivals: number[] = [];
const model = await startModelServer((request, index) => {
  arrivals[index] = preciseNow();
  return { kind: 'stream', frames: textFrames(request.model, answer, pace) };
});
console.log(`url ${model.baseURL}`);
process.stdin.resume();
process.stdin.on('end', async () => {
  const requests = model.requests.map((request, index) => ({
    input: request.body.messages.at(-1)?.content ?? '',
    receivedAt: arrivals[index]!,
    firstChunkAt: request.chunkTimes[0],
  }));
  await model.close();
  console.log(JSON.stringify({ requests }));
  process.exit(0);
});
