import { z } from 'zod';
import type { ZodOpenApiPathsObject } from 'zod-openapi';
import { idPattern } from '../run-defaults';
import { runListQuerySchema } from '../run-list';
import { maxStartPayloadChars, runRequestSchema } from '../run-request';
import { decisionSchema, fromStepSchema } from '../runs-router';
import { errorResponses } from './error-responses';
import { runEventSchema } from './event-schemas';
import { emptyBody, json, locationHeader, withHeaders, type PathContext } from './path-context';
import * as bodies from './response-schemas';

// /v1/runs and what hangs off a run: reads, the event stream, stream tokens, cancel, approvals.

const runId = z.string().regex(idPattern).meta({ description: 'A run id (the workflow id).' });

export function runPaths(context: PathContext, runRequest: ReturnType<typeof runRequestSchema>): ZodOpenApiPathsObject {
  const { guarded, common, get, post, runRead, rateHeaders, settings } = context;
  return {
    '/v1/runs': {
      post: {
        operationId: 'startRun',
        tags: ['Runs'],
        summary: 'Start a run',
        description:
          `A run of the agent on \`input\`. \`input\` takes at most ${settings.limits.maxInputChars} characters, and \`input\`, \`system\` and \`messages\` together ${maxStartPayloadChars} ` +
          '(413 `input_too_large`). The answer links the event stream, with a stream token for EventSource.',
        ...guarded('runs:write'),
        requestBody: { required: true, ...json(runRequest) },
        responses: {
          '202': { description: 'Started', ...withHeaders(locationHeader, rateHeaders), ...json(bodies.runCreatedSchema) },
          ...errorResponses(common, post, {
            400: ['invalid_request', 'model_not_allowed', 'model_not_available'],
            413: ['input_too_large'],
            429: [context.runCap && 'too_many_running_runs'],
          }),
        },
      },
      get: {
        operationId: 'listRuns',
        tags: ['Runs'],
        summary: 'List runs',
        description: 'The caller\'s runs (its tenant\'s), newest first, a page at a time.',
        ...guarded('runs:read'),
        requestParams: { query: runListQuerySchema },
        responses: { '200': { description: 'A page of runs', ...json(bodies.runListSchema) }, ...errorResponses(common, get, { 400: ['invalid_request', 'invalid_cursor'] }) },
      },
    },
    '/v1/runs/{runId}': {
      get: {
        operationId: 'getRun',
        tags: ['Runs'],
        summary: 'Read a run',
        description: 'Its status, live usage and cost, and its steps, a page of about 1 MB from `fromStep` (`nextStep` says where the next starts).',
        ...guarded('runs:read', { streamToken: true }),
        requestParams: { path: z.object({ runId }), query: z.object({ fromStep: fromStepSchema.meta({ description: 'The first step of the page (default 1).' }) }) },
        responses: { '200': { description: 'The run', ...json(bodies.runViewSchema) }, ...errorResponses(common, get, runRead, { 400: ['invalid_request'] }) },
      },
    },
    '/v1/runs/{runId}/temporal-links': {
      get: {
        operationId: 'getRunTemporalLinks',
        tags: ['Runs'],
        summary: 'Where the run is in the Temporal Web UI',
        description:
          'The run\'s workflow history, and for each model or tools step and each tool call the page of its activity (its ActivityTaskScheduled event). ' +
          'Read from the histories of the executions that hold steps from `fromStep` on, so ask for it when needed, not on every event.',
        ...guarded('runs:read', { streamToken: true }),
        requestParams: { path: z.object({ runId }), query: z.object({ fromStep: fromStepSchema.meta({ description: 'Only steps from this one on (default 1).' }) }) },
        responses: { '200': { description: 'The links', ...json(bodies.temporalLinksSchema) }, ...errorResponses(common, get, runRead, { 400: ['invalid_request'] }) },
      },
    },
    '/v1/runs/{runId}/events': {
      get: {
        operationId: 'streamRunEvents',
        tags: ['Events'],
        summary: 'Stream a run\'s events (SSE)',
        description:
          'A `text/event-stream`: each message has `id:` (a position in the run), `event:` (the name) and `data:` (JSON: the `data` of a RunEvent). ' +
          'With `Last-Event-ID` (header, or `lastEventId` for clients without headers) the stream continues exactly after that event; a finished run is rebuilt from durable state with the same ids. ' +
          'The stream closes after run.completed, run.failed or run.cancelled; a `: keep-alive` comment goes out every 15 s. ' +
          'EventSource cannot send headers: use the stream token (`?token=`) of the run\'s `links.events`.',
        ...guarded('runs:read', { streamToken: true }),
        requestParams: {
          path: z.object({ runId }),
          query: z.object({
            lastEventId: z.string().optional().meta({ description: 'As the Last-Event-ID header, for clients that cannot send it (the header wins).' }),
            from: z.enum(['latest', 'beginning']).optional().meta({ description: 'latest: no history, only what happens next (stream.live first). Default: beginning.' }),
          }),
          header: z.object({ 'Last-Event-ID': z.string().optional().meta({ description: 'Resume after this event id.' }) }),
        },
        responses: {
          '200': { description: 'The event stream', content: { 'text/event-stream': { schema: runEventSchema } } },
          '204': { description: 'Nothing more: the client is at the end of a finished run (EventSource stops reconnecting).' },
          ...errorResponses(common, get, runRead, { 400: ['invalid_last_event_id', 'invalid_request'], 429: [context.streamCap && 'too_many_streams'] }),
        },
      },
    },
    '/v1/runs/{runId}/stream-tokens': {
      post: {
        operationId: 'mintStreamToken',
        tags: ['Events'],
        summary: 'Mint a stream token',
        description: `A fresh read-only token for this run's events and reads, valid ${settings.streamTokenTtlSeconds} s (for a reconnect after the first expired).`,
        ...guarded('runs:read'),
        requestParams: { path: z.object({ runId }) },
        requestBody: emptyBody,
        responses: { '201': { description: 'Minted', ...withHeaders(rateHeaders), ...json(bodies.streamTokenSchema) }, ...errorResponses(common, post, { 404: ['run_not_found'] }) },
      },
    },
    '/v1/runs/{runId}/cancel': {
      post: {
        operationId: 'cancelRun',
        tags: ['Runs'],
        summary: 'Cancel a run',
        description: 'The model stream and running tools stop at once; the run ends with run.cancelled once Temporal has recorded it.',
        ...guarded('runs:cancel'),
        requestParams: { path: z.object({ runId }) },
        requestBody: emptyBody,
        responses: {
          '202': { description: 'Cancelling', ...withHeaders(rateHeaders), ...json(bodies.cancellingSchema) },
          ...errorResponses(common, post, { 404: ['run_not_found'], 409: ['run_not_running'] }),
        },
      },
    },
    '/v1/runs/{runId}/approvals/{callId}': {
      post: {
        operationId: 'decideApproval',
        tags: ['Runs'],
        summary: 'Approve or deny a tool call',
        description: 'For a call of a tool marked needsApproval, announced by approval.requested. A denied call never runs; the model reads the denial.',
        ...guarded('approvals:decide'),
        requestParams: { path: z.object({ runId, callId: z.string().meta({ description: 'The call id of approval.requested.' }) }) },
        requestBody: { required: true, ...json(decisionSchema) },
        responses: {
          '200': { description: 'Decided', ...withHeaders(rateHeaders), ...json(bodies.decisionResultSchema) },
          ...errorResponses(common, post, { 400: ['invalid_request'], 404: ['run_not_found'], 409: ['approval_not_pending', 'run_not_running'] }),
        },
      },
    },
  };
}
