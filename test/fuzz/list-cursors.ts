import { callApi, type TestStack } from '../helpers/stack';

// Cursors for GET /v1/runs (and MCP's list_runs): real ones, read from the first page of a list
// (each is signed for its tenant and status filter), and the same altered, which the API must
// refuse as invalid_cursor before Temporal sees them.

/** The cursor of the first page of `query` (visibility lags a moment behind new runs: read until one comes). */
export async function firstPageCursor(stack: TestStack, query: string, key?: string): Promise<string> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const page = await callApi(stack.url, 'GET', `/v1/runs?${query}`, key);
    if (page.status !== 200) throw new Error(`GET /v1/runs?${query} answered ${page.status}: ${JSON.stringify(page.body)}`);
    if (typeof page.body.nextCursor === 'string') return page.body.nextCursor;
    if (Date.now() > deadline) throw new Error(`GET /v1/runs?${query} gave no next page: ${JSON.stringify(page.body)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

const flipped = (text: string, at: number) => text.slice(0, at) + (text[at] === 'A' ? 'B' : 'A') + text.slice(at + 1);

/**
 * The real cursors, then the first altered: its token or its signature changed, its token with
 * another's signature, cut short (a real cursor under another tenant or filter is altered enough).
 */
export function withAltered(real: string[]): string[] {
  const [first = '', second = ''] = real;
  const [token = '', mac = ''] = first.split('.');
  const altered = [`${flipped(token, 0)}.${mac}`, `${token}.${flipped(mac, mac.length - 1)}`, `${token}.${second.split('.')[1] ?? ''}`, token, first.slice(0, -1)];
  return [...real, ...altered];
}
