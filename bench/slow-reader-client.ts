// One slow SSE reader in a process of its own, so that its buffers do not count as the API's
// memory. Environment: URL (the events URL), SOCKET_PATH (connect there instead of the URL's
// host), BYTES_PER_SECOND. Prints "ready" at once, then, when the stream ends or standard
// input closes (stop early), one JSON line: {text, deltaFrames, frames, bytes, ended, lastTextAt}.

import { readSlowly } from '../test/helpers/slow-reader';

const stop = new AbortController();
process.stdin.on('data', () => undefined);
process.stdin.on('end', () => stop.abort());
console.log('ready');
const result = await readSlowly(process.env.URL!, { bytesPerSecond: Number(process.env.BYTES_PER_SECOND ?? 10_000), socketPath: process.env.SOCKET_PATH || undefined, signal: stop.signal });
let text = '';
for (const frame of result.frames) {
  if (frame.event === 'step.retrying') text = '';
  if (frame.event === 'text.delta') text += frame.data.delta;
}
const deltaFrames = result.frames.filter((frame) => frame.event === 'text.delta').length;
const bytes = result.progress.at(-1)?.[1] ?? 0;
const lastTextAt = result.frames.findLast((frame) => frame.event === 'text.delta')?.at ?? Number.NaN;
console.log(JSON.stringify({ text, deltaFrames, frames: result.frames.length, bytes, ended: result.ended, lastTextAt }));
process.exit(0);
