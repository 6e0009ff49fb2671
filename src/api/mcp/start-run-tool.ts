import type { RequestHandlerExtra } from '@modelcontextprotocol/sdk/shared/protocol.js';
import type { CallToolResult, ServerNotification, ServerRequest } from '@modelcontextprotocol/sdk/types.js';
import { beginning, parseCursor, type Cursor } from '../../shared/event-position';
import type { Principal } from '../auth/scopes';
import { startRun } from '../run-actions';
import type { RunRequest } from '../run-request';
import { streamRun } from '../run-stream';
import type { McpContext } from './mcp-context';
import { RunProgress } from './run-progress';
import { missingScope, refusal, toolError, toolResult } from './tool-results';

// start_run: starts a run for the caller's tenant (the checks of POST /v1/runs, run-actions.ts),
// then, unless `wait: false`, follows it in this process (the stream an SSE client would get)
// and reports it as notifications/progress until it ends; the tool's result is the run's
// output. The run is durable: a client that cancels or goes away stops only the watching, never
// the run (read it later with get_run; cancel it with POST /v1/runs/:runId/cancel).

type Extra = RequestHandlerExtra<ServerRequest, ServerNotification>;

export async function startRunTool(context: McpContext, principal: Principal, args: RunRequest & { wait?: boolean }, extra: Extra, connection: AbortSignal): Promise<CallToolResult> {
  const refused = missingScope(principal, 'runs:write', 'start_run');
  if (refused) return refused;
  const { wait, ...body } = args;
  const { tenant } = principal;
  // Reserved before the run starts: a call refused here has started nothing.
  const release = wait === false ? () => {} : context.streamSlots.tryTake(tenant, 'mcp');
  if (!release) return toolError('too_many_streams', `${context.streamSlots.refusal(tenant)}; retry later, or start with wait: false and read the run with get_run`);
  try {
    let runId: string;
    try {
      ({ runId } = await startRun(context, body, tenant));
    } catch (error) {
      return refusal(error);
    }
    if (wait === false) {
      return toolResult(`Started run ${runId}. Read it with get_run {"runId": "${runId}"}.`, { runId, status: 'running', links: context.links(runId) });
    }
    return await follow(context, runId, extra, connection);
  } finally {
    release();
  }
}

/** Follows the run until it ends (or the caller stops waiting): progress notifications, then the result. */
async function follow(context: McpContext, runId: string, extra: Extra, connection: AbortSignal): Promise<CallToolResult> {
  const links = context.links(runId);
  const watching = AbortSignal.any([extra.signal, connection]);
  const progress = new RunProgress(runId);
  const token = extra._meta?.progressToken;
  let sent = 0;
  let lastSentAt = 0;
  let lastMessage = '';
  const notify = async (force: boolean) => {
    if (token === undefined || watching.aborted) return;
    const message = progress.message();
    const now = Date.now();
    // At most one a progress interval; the same message again only as a keep-alive.
    if (!force && (now - lastSentAt < context.progressIntervalMs || message === lastMessage)) return;
    lastSentAt = now;
    lastMessage = message;
    await extra
      .sendNotification({
        method: 'notifications/progress',
        params: { progressToken: token, progress: ++sent, message, _meta: { runId, ...(progress.lastEventId ? { lastEventId: progress.lastEventId } : {}) } },
      })
      .catch(() => undefined);
  };
  // Long waits (approvals, slow tools) still send something: clients that reset their request
  // timeout on progress keep the call open, proxies keep the connection.
  const keepAlive = setInterval(() => {
    if (Date.now() - lastSentAt >= context.keepAliveMs) void notify(true);
  }, Math.min(context.keepAliveMs, 1000));
  let trailing: NodeJS.Timeout | undefined;
  try {
    await notify(true);
    let from: Cursor = beginning;
    // A watcher that fell too far behind (streamRun ends without the run's end) goes on from its last id.
    for (let idle = 0; !watching.aborted && !progress.end && idle < 3; idle++) {
      for await (const batch of streamRun(runId, from, context.sources, watching, context.streamOptions)) {
        for (const event of batch) progress.push(event);
        from = parseCursor(batch.at(-1)!.id) ?? from;
        idle = -1;
        if (progress.end) break;
        clearTimeout(trailing);
        void notify(false);
        // The last change of a burst goes out too, one interval later.
        trailing = setTimeout(() => void notify(false), context.progressIntervalMs);
      }
    }
  } finally {
    clearInterval(keepAlive);
    clearTimeout(trailing);
  }
  const end = progress.end;
  if (!end) {
    return toolError('watch_stopped', `stopped watching run ${runId}; the run goes on (read it with get_run)`, { runId, status: 'running', links });
  }
  switch (end.event) {
    case 'run.completed':
      return toolResult(end.data.output, { runId, status: 'completed', output: end.data.output, usage: end.data.usage, ...(end.data.cost ? { cost: end.data.cost } : {}), links });
    case 'run.failed':
      return toolError(end.data.error.code, `run ${runId} failed: ${end.data.error.message}`, { runId, status: 'failed', usage: end.data.usage, links });
    case 'run.cancelled':
      return toolError('run_cancelled', `run ${runId} was cancelled${end.data.partial ? `; its text so far: ${end.data.partial}` : ''}`, { runId, status: 'cancelled', partial: end.data.partial, usage: end.data.usage, links });
  }
}
