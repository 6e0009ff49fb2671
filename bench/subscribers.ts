// A separate process of SSE subscribers, so that their parsing does not count as the API's CPU
// or delay its events. Environment: URL (the run's events URL), SUBSCRIBERS, TOKEN_ENDS (comma-
// separated character offsets where tokens end). Prints once ready "ready", then one JSON line:
// {arrivals: number[][] (per subscriber, per token), texts: string[]} when every stream has ended.

const url = process.env.URL!;
const subscribers = Number(process.env.SUBSCRIBERS ?? 1);
const ends = (process.env.TOKEN_ENDS ?? '').split(',').map(Number);
const now = () => performance.timeOrigin + performance.now();

async function subscribe(): Promise<{ arrivals: number[]; text: string }> {
  const arrivals: number[] = [];
  let text = '';
  const response = await fetch(url);
  const decoder = new TextDecoder();
  let buffer = '';
  for await (const bytes of response.body!) {
    const at = now();
    buffer += decoder.decode(bytes as Uint8Array, { stream: true });
    let boundary: number;
    while ((boundary = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, boundary);
      buffer = buffer.slice(boundary + 2);
      if (block.includes('event: text.delta')) {
        text += (JSON.parse(/^data: (.*)$/m.exec(block)![1]!) as { delta: string }).delta;
        while (arrivals.length < ends.length && ends[arrivals.length]! <= text.length) arrivals.push(at);
      }
      if (/event: run\.(completed|failed|cancelled)/.test(block)) return { arrivals, text };
    }
  }
  return { arrivals, text };
}

const streams = Array.from({ length: subscribers }, () => subscribe());
console.log('ready');
const results = await Promise.all(streams);
console.log(JSON.stringify({ arrivals: results.map((result) => result.arrivals), texts: results.map((result) => result.text) }));
export {};
