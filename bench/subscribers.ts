// A separate process of SSE subscribers, so that their parsing does not count as the API's CPU
// or delay its events. Environment: URLS (comma-separated events URLs; SUBSCRIBERS subscribers to
// each), TOKEN_ENDS (comma-separated character offsets where tokens end). With URLS empty, the
// URLs come on standard input, one a line, and each is subscribed the moment it arrives (so the
// process can start before the runs). Prints "ready", then one JSON line: {arrivals: number[][]
// (per subscriber, per token), texts: string[], cpuMs: this process's CPU} when every stream has
// ended, in URL order.

import { Agent, get } from 'node:http';
import { createInterface } from 'node:readline';

const urls = (process.env.URLS ?? '').split(',').filter(Boolean);
const subscribers = Number(process.env.SUBSCRIBERS ?? 1);
const ends = (process.env.TOKEN_ENDS ?? '').split(',').map(Number);
const now = () => performance.timeOrigin + performance.now();

// node:http rather than fetch: a thousand web streams cost this process (which shares the cores
// with the stack being measured) about three times the CPU.
const agent = new Agent({ keepAlive: false, maxSockets: Number.POSITIVE_INFINITY });

function subscribe(url: string): Promise<{ arrivals: number[]; text: string }> {
  return new Promise((resolve, reject) => {
    const arrivals: number[] = [];
    let text = '';
    let buffer = '';
    let done = false;
    const request = get(url, { agent }, (response) => {
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => {
        if (done) return;
        const at = now();
        buffer += chunk;
        let boundary: number;
        while ((boundary = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, boundary);
          buffer = buffer.slice(boundary + 2);
          if (block.includes('event: text.delta')) {
            text += (JSON.parse(/^data: (.*)$/m.exec(block)![1]!) as { delta: string }).delta;
            while (arrivals.length < ends.length && ends[arrivals.length]! <= text.length) arrivals.push(at);
          }
          if (/event: run\.(completed|failed|cancelled)/.test(block)) {
            done = true;
            request.destroy();
            resolve({ arrivals, text });
            return;
          }
        }
      });
      response.on('end', () => resolve({ arrivals, text }));
      response.on('error', () => resolve({ arrivals, text }));
    });
    request.on('error', (error) => (done ? undefined : reject(error)));
  });
}

const cpuAtStart = process.cpuUsage();
const streams = urls.flatMap((url) => Array.from({ length: subscribers }, () => subscribe(url)));
console.log('ready');
if (urls.length === 0) {
  for await (const line of createInterface({ input: process.stdin })) {
    if (line.trim()) for (let i = 0; i < subscribers; i++) streams.push(subscribe(line.trim()));
  }
}
const results = await Promise.all(streams);
const cpu = process.cpuUsage(cpuAtStart);
console.log(JSON.stringify({ arrivals: results.map((result) => result.arrivals), texts: results.map((result) => result.text), cpuMs: (cpu.user + cpu.system) / 1000 }));
