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
