// The thread where a model's regular expression meets file contents (see safe-regex.ts, which
// also defines the messages). RE2 cannot backtrack, but its time still grows with text length
// times pattern size, which for a large pattern over a megabyte is seconds: that must not happen
// on the event loop serving SSE. Lines are tested as bytes (RE2 reads UTF-8), so only the lines
// that match are decoded.
//
// Plain JavaScript on purpose: on Node 20 a worker thread does not get the tsx loader of the
// process that starts it, and this file needs nothing from TypeScript.
import { parentPort, workerData } from 'node:worker_threads';
import RE2 from 're2';

const { pattern, maxLineChars } = workerData;
const expression = new RE2(pattern);

parentPort.on('message', (job) => {
  const bytes = Buffer.from(job.bytes.buffer, job.bytes.byteOffset, job.bytes.byteLength);
  const matches = [];
  // `start <= length`: the text after the last newline is a line too, even when empty, as split('\n') gives.
  for (let start = 0, line = 1; start <= bytes.length && matches.length < job.maxMatches; line++) {
    const newline = bytes.indexOf(10, start);
    const end = newline < 0 ? bytes.length : newline;
    const text = bytes.subarray(start, end);
    if (expression.test(text)) matches.push({ line, text: text.subarray(0, maxLineChars * 4).toString('utf8').slice(0, maxLineChars) });
    start = end + 1;
  }
  parentPort.postMessage({ id: job.id, matches });
});
