// What a benchmark's client does over HTTP, with no Temporal in it (client processes load it).

/** POSTs a run and reads its SSE stream to the end; returns the run id and when events arrived. */
export async function runToEnd(url: string, body: unknown): Promise<{ runId: string; started: number; firstDelta: number; ended: number }> {
  const started = performance.now();
  const created = await fetch(`${url}/v1/runs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const { runId } = (await created.json()) as { runId: string };
  const response = await fetch(`${url}/v1/runs/${runId}/events`);
  const decoder = new TextDecoder();
  let buffer = '';
  let firstDelta = Number.NaN;
  for await (const bytes of response.body!) {
    buffer += decoder.decode(bytes as Uint8Array, { stream: true });
    if (Number.isNaN(firstDelta) && buffer.includes('event: text.delta')) firstDelta = performance.now();
    if (/event: run\.(completed|failed|cancelled)/.test(buffer)) break;
  }
  return { runId, started, firstDelta, ended: performance.now() };
}

/** The messages of an SSE response body, as they arrive: id, event and the raw data line. */
export async function* sseMessages(body: AsyncIterable<Uint8Array>): AsyncGenerator<{ id?: string; event: string; data: string }> {
  const decoder = new TextDecoder();
  let buffer = '';
  for await (const bytes of body) {
    buffer += decoder.decode(bytes, { stream: true });
    let boundary: number;
    while ((boundary = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, boundary);
      buffer = buffer.slice(boundary + 2);
      const event = /^event: (.*)$/m.exec(block)?.[1];
      const data = /^data: (.*)$/m.exec(block)?.[1];
      if (event && data) yield { id: /^id: (.*)$/m.exec(block)?.[1], event, data };
    }
  }
}
