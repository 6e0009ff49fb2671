import type { StreamSlots } from './stream-slots';
import { temporalLinks } from './temporal-links';
import type { Client, WorkflowExecutionDescription } from '@temporalio/client';
import { Router, type Request } from 'express';
import { beginning, formatCursor, parseCursor, type Cursor } from '../shared/event-position';
import type { RunEvent } from '../shared/events';
import type { LiveRelay } from '../relay/live-relay';
import { HttpError } from './errors';
import { idPattern, type RunDefaults } from './run-defaults';
import { decideApproval, pendingApprovals, readOwnedRun, startRun } from './run-actions';
import { describeIssues, runRequestSchema } from './run-request';
import { RunReader, type RunView } from './run-reader';
import { RunNotFoundError, type RunStore } from './run-store';
import { z } from 'zod';
import { liveEdge, streamRun, type RunStreamOptions } from './run-stream';
import { SharedRunSources } from './shared-sources';
import { pipeEventsToResponse, type SseOptions } from './sse';
import { principalOf } from './auth/authenticate';
import type { StreamTokens } from './auth/stream-tokens';
import type { RunAdmission } from './run-admission';
import { RunCosts } from './run-costs';
import { listRuns, parseRunListQuery } from './run-list';
import { liveTotals } from './live-usage';
import type { PriceTable } from '../shared/prices';

export interface RunsRouterOptions extends RunDefaults {
  store: RunStore;
  /** MAX_STREAMS_PER_TENANT, shared with the other streams of this replica. */
  streamSlots: StreamSlots;
  client: Client;
  reader?: RunReader;
  streamTokens: StreamTokens;
  /** No keys: one tenant ("local"), no ownership checks. */
  open: boolean;
  relay: LiveRelay;
  temporalUi: { url: string; namespace: string };
  stream?: RunStreamOptions & SseOptions;
  /** MAX_RUNNING_RUNS_PER_TENANT (shared with the sessions router). */
  admission?: RunAdmission;
  /** MODEL_PRICES: costs in GET /v1/runs/:id and the events (unset or empty: none). */
  prices?: PriceTable;
}

export const decisionSchema = z.strictObject({ approve: z.boolean({ error: 'approve must be true or false' }), reason: z.string().max(2000).optional() });

export const fromStepSchema = z.coerce.number({ error: 'fromStep must be a step number (1 or more)' }).int().min(1).max(1_000_000).optional();

/**
 * `?from=latest`: stream.live first, with the live edge as its id, so that a client that
 * reconnects before anything happened resumes from the edge, not from the run's beginning.
 */
async function* startingAt(runId: string, edge: Cursor, events: AsyncGenerator<RunEvent[]>): AsyncGenerator<RunEvent[]> {
  const step = edge.at === 'beginning' || edge.at === 'run-start' || edge.at === 'run-end' ? 0 : edge.step;
  yield [{ event: 'stream.live', id: formatCursor(edge), data: { runId, step } }];
  yield* events;
}

const withCost = <T extends object>(step: T, cost: ReturnType<RunCosts['ofStep']>) => (cost ? { ...step, cost } : step);

export function runsRouter(options: RunsRouterOptions): Router {
  const { store, relay, limits } = options;
  const router = Router();
  const schema = runRequestSchema({ maxSteps: limits.maxSteps, toolNames: options.toolNames });

  const links = (runId: string, executionId: string, streamToken?: string) => ({
    self: `/v1/runs/${runId}`,
    // With a stream token, the link works as-is in EventSource (which cannot send headers).
    events: `/v1/runs/${runId}/events${streamToken ? `?token=${encodeURIComponent(streamToken)}` : ''}`,
    temporalUi:
      `${options.temporalUi.url}/namespaces/${encodeURIComponent(options.temporalUi.namespace)}` +
      `/workflows/${encodeURIComponent(runId)}/${encodeURIComponent(executionId)}/history`,
  });

  // Every SSE connection of this process reads durable state through one shared reader per run.
  const reader = options.reader ?? new RunReader(options.client);
  const sources = new SharedRunSources(store, reader, relay);
  const costs = new RunCosts(options.prices ?? new Map());
  const streamOptions = { ...options.stream, costs };

  const loadRun = (request: Request, shared = false, fromStep = 1, onDescribe?: (description: WorkflowExecutionDescription) => void): Promise<RunView> =>
    readOwnedRun(String(request.params.runId), options.open ? undefined : principalOf(request).tenant, (runId) =>
      shared ? sources.getState(runId, { fromStep }) : reader.read(runId, { fromStep, onDescribe }),
    );

  router.post('/runs', async (request, response) => {
    if (!request.is('application/json')) {
      throw new HttpError(415, 'unsupported_media_type', 'send the body as JSON with Content-Type: application/json');
    }
    const parsed = schema.safeParse(request.body);
    if (!parsed.success) throw new HttpError(400, 'invalid_request', describeIssues(parsed.error));
    const { tenant } = principalOf(request);
    const run = await startRun(options, parsed.data, tenant);
    const { token, expiresAt } = await options.streamTokens.mint(run.runId, tenant);
    response.status(202).location(`/v1/runs/${run.runId}`).json({
      runId: run.runId,
      status: 'running',
      streamToken: token,
      streamTokenExpiresAt: expiresAt,
      links: links(run.runId, run.executionId, token),
    });
  });

  // The caller's runs, newest first, a page at a time (run-list.ts).
  router.get('/runs', async (request, response) => {
    const query = parseRunListQuery(request.query);
    response.json(await listRuns(options.client, options.client.options.namespace, principalOf(request).tenant, query, options.streamTokens));
  });

  router.post('/runs/:runId/stream-tokens', async (request, response) => {
    const state = await loadRun(request);
    const { token, expiresAt } = await options.streamTokens.mint(state.runId, principalOf(request).tenant);
    response.status(201).json({ runId: state.runId, streamToken: token, streamTokenExpiresAt: expiresAt, links: { events: links(state.runId, state.executionId, token).events } });
  });

  router.get('/runs/:runId', async (request, response) => {
    const fromStep = fromStepSchema.safeParse(request.query.fromStep);
    if (!fromStep.success) throw new HttpError(400, 'invalid_request', describeIssues(fromStep.error));
    let description: WorkflowExecutionDescription | undefined;
    const state = await loadRun(request, false, fromStep.data, (described) => (description = described));
    const next = state.nextStep !== undefined ? { nextStep: state.nextStep } : {};
    // Live totals: the finished steps' usage plus the streaming step's estimate, when one is visible.
    const { streaming, usage, cost, streamingCost } = await liveTotals(state, { relay, client: options.client, costs }, description);
    response.json({
      runId: state.runId,
      status: state.status,
      input: state.input,
      model: state.model,
      ...(state.output !== undefined ? { output: state.output } : {}),
      usage,
      ...(streaming ? { streaming: { ...streaming, estimated: true, ...(streamingCost ? { cost: streamingCost } : {}) } } : {}),
      ...(state.maxTokens ? { maxTokens: state.maxTokens, fraction: usage.totalTokens / state.maxTokens } : {}),
      ...(cost ? { cost } : {}),
      ...(state.error ? { error: state.error } : {}),
      stepCount: state.stepCount,
      pendingApprovals: pendingApprovals(state),
      // A long run's steps come in pages: this one from fromStep; nextStep is where the next starts.
      fromStep: state.fromStep,
      steps: costs.prices.size === 0 ? state.steps : state.steps.map((step) => withCost(step, costs.ofStep(step, state.model))),
      ...next,
      links: { ...links(state.runId, state.executionId), ...(state.nextStep !== undefined ? { next: `/v1/runs/${state.runId}?fromStep=${state.nextStep}` } : {}) },
    });
  });

  // Where the run, its steps and its tool calls are in the Temporal Web UI (temporal-links.ts).
  router.get('/runs/:runId/temporal-links', async (request, response) => {
    const fromStep = fromStepSchema.safeParse(request.query.fromStep);
    if (!fromStep.success) throw new HttpError(400, 'invalid_request', describeIssues(fromStep.error));
    const state = await loadRun(request, true);
    // Only the executions that hold steps from fromStep on: a long run's history is read in part.
    const earlier = (state.segments ?? []).filter((segment) => segment.executionId !== state.executionId && segment.lastStep >= (fromStep.data ?? 1)).map((segment) => segment.executionId);
    response.json(await temporalLinks(options.client, options.temporalUi, state.runId, [...earlier, state.executionId]));
  });

  router.get('/runs/:runId/events', async (request, response) => {
    const lastEventId = request.header('last-event-id') ?? (typeof request.query.lastEventId === 'string' ? request.query.lastEventId : undefined);
    const fromQuery = request.query.from;
    if (fromQuery !== undefined && fromQuery !== 'latest' && fromQuery !== 'beginning') {
      throw new HttpError(400, 'invalid_request', 'from must be "latest" (start at the live edge, no history) or "beginning"');
    }
    let from: Cursor = beginning;
    const resuming = lastEventId !== undefined && lastEventId !== '';
    if (resuming) {
      const position = parseCursor(lastEventId);
      if (!position) throw new HttpError(400, 'invalid_last_event_id', `"${lastEventId.slice(0, 100)}" is not an event id of this API`);
      from = position;
    }
    const state = await loadRun(request, true);
    // ?from=latest: no history, only what happens next. A reconnect's Last-Event-ID wins (the
    // first frame gave the client the edge's id, so it resumes exactly from there).
    if (!resuming && fromQuery === 'latest') {
      const edge = await liveEdge(state.runId, sources, AbortSignal.timeout(30_000));
      if (edge) from = edge;
    }
    // A client that has the run's end has all there is: 204 tells EventSource to stop
    // reconnecting (an empty 200 would have it reconnect every few seconds for ever). It may
    // come a moment before Temporal records the close (the end is read from the run's state).
    if (from.at === 'run-end') {
      response.status(204).end();
      return;
    }
    // A tenant's open streams on this replica are capped: one client cannot hold them all.
    const { tenant } = principalOf(request);
    const release = options.streamSlots.take(tenant, 'events');
    const abort = new AbortController();
    response.on('close', () => {
      abort.abort();
      release();
    });
    const events = streamRun(state.runId, from, sources, abort.signal, streamOptions);
    await pipeEventsToResponse(response, !resuming && fromQuery === 'latest' ? startingAt(state.runId, from, events) : events, options.stream);
  });

  router.post('/runs/:runId/approvals/:callId', async (request, response) => {
    if (!request.is('application/json')) {
      throw new HttpError(415, 'unsupported_media_type', 'send the body as JSON with Content-Type: application/json');
    }
    const parsed = decisionSchema.safeParse(request.body);
    if (!parsed.success) throw new HttpError(400, 'invalid_request', describeIssues(parsed.error));
    const state = await loadRun(request);
    const callId = String(request.params.callId).slice(0, 200);
    const decision = await decideApproval(store, state, callId, parsed.data);
    response.json({ runId: state.runId, callId, decision });
  });

  router.post('/runs/:runId/cancel', async (request, response) => {
    // One describe (owner, status), not a whole read: a cancel should reach the steps quickly.
    const runId = String(request.params.runId);
    const notFound = () => new HttpError(404, 'run_not_found', `no run with id "${runId.slice(0, 200)}"`);
    if (!idPattern.test(runId)) throw notFound();
    const run = await reader.describe(runId).catch((error: unknown) => {
      throw error instanceof RunNotFoundError ? notFound() : error;
    });
    if (!options.open && run.tenant !== principalOf(request).tenant) throw notFound();
    if (run.status !== 'RUNNING') throw new HttpError(409, 'run_not_running', `run "${runId}" has already ended (${run.status.toLowerCase()})`);
    // The workers running the run's steps hear it now, not at their next heartbeat (relay.cancelRun:
    // they stop the model stream and tools, and end the step once Temporal's cancellation follows).
    relay.cancelRun(runId);
    const outcome = await store.cancel(runId);
    if (outcome === 'not_running') throw new HttpError(409, 'run_not_running', `run "${runId}" has already ended`);
    response.status(202).json({ runId, status: 'cancelling', links: links(runId, run.executionId) });
  });

  return router;
}
