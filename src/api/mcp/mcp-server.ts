import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { z } from 'zod';
import type { Principal } from '../auth/scopes';
import { liveTotals } from '../live-usage';
import { decideApproval, pendingApprovals, readOwnedRun } from '../run-actions';
import { listRuns, runListQuerySchema, runListStatuses } from '../run-list';
import { runRequestSchema } from '../run-request';
import { decisionSchema } from '../runs-router';
import type { McpContext } from './mcp-context';
import { startRunTool } from './start-run-tool';
import { missingScope, refusal, toolResult } from './tool-results';

// The MCP server of one request (the transport is stateless: mcp-router.ts): the caller's key is
// known, each tool checks the scope the matching REST route needs and reaches only the caller's
// tenant's runs. Arguments are validated by the REST routes' own zod schemas where there is one.

const runIdArgument = z.string().min(1).max(200).describe('The run id (run_…), from start_run or list_runs.');

/** The scope each tool needs: the one its REST route needs. */
export const mcpToolScopes = { start_run: 'runs:write', get_run: 'runs:read', list_runs: 'runs:read', decide_approval: 'approvals:decide' } as const;

export function createMcpServer(context: McpContext, principal: Principal, connection: AbortSignal, version: string): McpServer {
  const server = new McpServer({ name: 'durable-agents', version }, { instructions: 'Hand long tasks to durable AI agents: start_run runs an agent on a task (it survives restarts) and reports its progress; get_run reads a run; decide_approval approves or denies a tool call that waits for a human.' });
  const owner = context.open ? undefined : principal.tenant;
  const startSchema = runRequestSchema({ maxSteps: context.limits.maxSteps, toolNames: context.toolNames }).extend({
    wait: z.boolean().optional().describe('false: return the runId at once instead of waiting for the run to end (default true).'),
  });

  server.registerTool(
    'start_run',
    {
      title: 'Start an agent run',
      description:
        'Runs the durable agent on `input` (a task) with its tools, and waits for it: progress notifications carry the text so far and what tools do; the result is the run\'s answer (structuredContent: runId, status, usage). ' +
        'The run is durable: if this call is cancelled or the connection drops, the run goes on; read it later with get_run. `wait: false` returns the runId at once. ' +
        'Optional: model, system, maxSteps, maxTokens (the run\'s token budget), tools (names the model may call), messages (earlier conversation), contextTokens, cache. Needs the scope runs:write.',
      inputSchema: startSchema,
      annotations: { destructiveHint: false, openWorldHint: true },
    },
    (args, extra) => startRunTool(context, principal, args, extra, connection),
  );

  server.registerTool(
    'get_run',
    {
      title: 'Read a run',
      description: 'A run\'s status (queued, running, completed, failed, cancelled), its output or error, its usage and cost so far, and the tool calls waiting for approval. Needs the scope runs:read.',
      inputSchema: z.strictObject({ runId: runIdArgument }),
      annotations: { readOnlyHint: true },
    },
    async ({ runId }) => {
      const refused = missingScope(principal, mcpToolScopes.get_run, 'get_run');
      if (refused) return refused;
      try {
        let description;
        const state = await readOwnedRun(runId, owner, (id) => context.reader.read(id, { onDescribe: (described) => (description = described) }));
        const { usage, cost } = await liveTotals(state, context, description);
        const run = {
          runId: state.runId,
          status: state.status,
          model: state.model,
          ...(state.output !== undefined ? { output: state.output } : {}),
          ...(state.error ? { error: state.error } : {}),
          usage,
          ...(cost ? { cost } : {}),
          stepCount: state.stepCount,
          pendingApprovals: pendingApprovals(state),
          links: context.links(state.runId),
        };
        return toolResult(JSON.stringify(run), run);
      } catch (error) {
        return refusal(error);
      }
    },
  );

  server.registerTool(
    'list_runs',
    {
      title: 'List runs',
      description: 'The caller\'s runs, newest first, a page at a time (nextCursor reads the next page). Needs the scope runs:read.',
      inputSchema: z.strictObject({
        status: z.enum(runListStatuses).optional(),
        limit: z.number().int().min(1).max(100).optional().describe('1 to 100 (default 20).'),
        // GET /v1/runs's own check: listRuns reads a cursor as token.signature.
        cursor: runListQuerySchema.shape.cursor.describe('nextCursor of the page before.'),
      }),
      annotations: { readOnlyHint: true },
    },
    async ({ status, limit, cursor }) => {
      const refused = missingScope(principal, mcpToolScopes.list_runs, 'list_runs');
      if (refused) return refused;
      try {
        const page = await listRuns(context.client, context.client.options.namespace, principal.tenant, { status, limit: limit ?? 20, cursor }, context.streamTokens);
        return toolResult(JSON.stringify(page), { ...page });
      } catch (error) {
        return refusal(error);
      }
    },
  );

  server.registerTool(
    'decide_approval',
    {
      title: 'Approve or deny a tool call',
      description: 'Decides a tool call that waits for a human (get_run lists them in pendingApprovals; start_run\'s progress names them): approve true runs it, false denies it (the model reads `reason`). Needs the scope approvals:decide.',
      inputSchema: decisionSchema.extend({ runId: runIdArgument, callId: z.string().min(1).max(200).describe('The call id, from pendingApprovals.') }),
      annotations: { destructiveHint: true, idempotentHint: false },
    },
    async ({ runId, callId, approve, reason }) => {
      const refused = missingScope(principal, mcpToolScopes.decide_approval, 'decide_approval');
      if (refused) return refused;
      try {
        const state = await readOwnedRun(runId, owner, (id) => context.reader.read(id));
        const decision = await decideApproval(context.store, state, callId, { approve, reason });
        return toolResult(`${callId} of run ${runId}: ${decision}`, { runId, callId, decision });
      } catch (error) {
        return refusal(error);
      }
    },
  );
  return server;
}
