import { z } from 'zod';
import type { RunListItem } from '../run-list';
import { runListStatuses } from '../run-list';
import type { ToolPolicy } from '../../shared/run-types';
import type { SessionState } from '../../workflows/definitions';
import { approvalDecisionSchema, costSchema, pendingApprovalSchema, pricedStepSchema, runErrorSchema, usageSchema } from './run-schemas';
import { assertType, type Covers, type Same } from './type-checks';

// Response bodies, as the routers write them. The routers build them inline; the test checks real
// responses of a running stack against these schemas (test/openapi.test.ts).

const count = z.number().int().min(0);
const isoTime = z.string().meta({ format: 'date-time' });
const path = z.string().meta({ description: 'A path on this API.' });

export const streamTokenFields = {
  streamToken: z.string().meta({ description: 'A signed JWT: reads of this one run, in `?token=` (EventSource cannot send headers).' }),
  streamTokenExpiresAt: isoTime,
};

export const runCreatedSchema = z
  .object({
    runId: z.string(),
    status: z.literal('running'),
    ...streamTokenFields,
    links: z.object({
      self: path,
      events: path.meta({ description: 'The event stream, with the stream token: works as-is in EventSource.' }),
      temporalUi: z.string().meta({ description: 'The run in the Temporal Web UI.' }),
    }),
  })
  .meta({ id: 'RunCreated' });

export const runStatusSchema = z.enum(['queued', 'running', 'completed', 'failed', 'cancelled']).meta({
  id: 'RunStatus',
  description: 'queued: no worker has taken the run, or its first model step, for a quarter of a second.',
});

export const runViewSchema = z
  .object({
    runId: z.string(),
    status: runStatusSchema,
    input: z.string(),
    model: z.string(),
    output: z.string().optional(),
    usage: usageSchema.meta({ description: 'Live: the finished steps\' usage plus the streaming step\'s estimate.' }),
    streaming: z
      .object({ step: count, attempt: count, model: z.string(), usage: usageSchema, estimated: z.literal(true), cost: costSchema.optional() })
      .optional()
      .meta({ description: 'The streaming model step\'s estimate, when usage includes one.' }),
    maxTokens: count.optional(),
    fraction: z.number().min(0).optional().meta({ description: 'usage.totalTokens / maxTokens.' }),
    cost: costSchema.optional(),
    error: runErrorSchema.optional(),
    stepCount: count,
    pendingApprovals: z.array(pendingApprovalSchema),
    fromStep: count.meta({ description: 'The step this page of steps starts at.' }),
    steps: z.array(pricedStepSchema),
    nextStep: count.optional().meta({ description: 'Where the next page of steps starts (?fromStep=).' }),
    links: z.object({ self: path, events: path, temporalUi: z.string(), next: path.optional() }),
  })
  .meta({ id: 'Run' });

export const runListItemSchema = z
  .object({
    runId: z.string(),
    status: z.enum(runListStatuses),
    startedAt: isoTime,
    closedAt: isoTime.optional(),
    model: z.string().optional(),
    input: z.string().optional().meta({ description: 'The first 200 characters of the task.' }),
    sessionId: z.string().optional(),
    links: z.object({ self: path, events: path }),
  })
  .meta({ id: 'RunListItem' });

export const runListSchema = z
  .object({ runs: z.array(runListItemSchema), nextCursor: z.string().optional().meta({ description: 'Pass as ?cursor= for the next page; absent on the last.' }) })
  .meta({ id: 'RunList' });

export const temporalLinksSchema = z
  .object({
    run: z.string().meta({ description: 'The workflow history of the run\'s latest execution.' }),
    steps: z.record(z.string(), z.string()).meta({ description: 'By step number: the page of the step\'s activity (a tools step: its first call\'s).' }),
    calls: z.record(z.string(), z.string()).meta({ description: 'By tool call id: the page of the call\'s activity.' }),
  })
  .meta({ id: 'TemporalLinks' });

export const streamTokenSchema = z.object({ runId: z.string(), ...streamTokenFields, links: z.object({ events: path }) }).meta({ id: 'StreamToken' });

export const cancellingSchema = z
  .object({ runId: z.string(), status: z.literal('cancelling'), links: z.object({ self: path, events: path, temporalUi: z.string() }) })
  .meta({ id: 'Cancelling' });

export const decisionResultSchema = z
  .object({ runId: z.string(), callId: z.string(), decision: approvalDecisionSchema })
  .meta({ id: 'DecisionResult' });

export const sessionCreatedSchema = z
  .object({ sessionId: z.string(), links: z.object({ self: path, messages: path }) })
  .meta({ id: 'SessionCreated' });

export const turnStartedSchema = z
  .object({ sessionId: z.string(), runId: z.string(), ...streamTokenFields, links: z.object({ run: path, events: path, session: path }) })
  .meta({ id: 'TurnStarted' });

const sessionTurnSchema = z.object({
  runId: z.string(),
  input: z.string().meta({ description: 'The first 200 characters of the message.' }),
  status: z.enum(['running', 'completed', 'failed', 'cancelled']),
  output: z.string().optional(),
});

const sessionStateShape = {
  sessionId: z.string(),
  turns: z.array(sessionTurnSchema).meta({ description: 'The latest turns (at most 200).' }),
  turnCount: count,
  generation: count.meta({ description: 'How many times the session has continued as new.' }),
  running: z.string().optional().meta({ description: 'The run of the turn in progress.' }),
};

export const sessionSchema = z.object({ ...sessionStateShape, links: z.object({ self: path, messages: path }) }).meta({ id: 'Session' });

export const toolSchema = z
  .object({
    name: z.string(),
    description: z.string(),
    source: z.enum(['built-in', 'custom', 'mcp']),
    parameters: z.record(z.string(), z.unknown()).meta({ description: 'The JSON Schema of the arguments, as the model sees it.' }),
    policy: z.object({
      timeoutMs: count,
      maximumAttempts: count,
      initialIntervalMs: count,
      backoffCoefficient: z.number(),
      maximumIntervalMs: count,
      needsApproval: z.boolean(),
      idempotent: z.boolean(),
      cacheTtlMs: count.optional(),
    }),
    stats: z
      .object({
        calls: count,
        p50Ms: z.number().min(0).optional(),
        p90Ms: z.number().min(0).optional(),
        samples: count.optional(),
        errorRate: z.number().min(0).max(1),
        cacheHitRate: z.number().min(0).max(1),
        ran: count.optional().meta({ description: 'Calls that ran (not cache hits).' }),
      })
      .meta({ description: 'Shared by every worker, across tenants; p50Ms/p90Ms over the last 200 calls that ran and succeeded.' }),
  })
  .meta({ id: 'Tool' });

export const toolListSchema = z.object({ tools: z.array(toolSchema) }).meta({ id: 'ToolList' });

export const healthSchema = z.object({ status: z.literal('ok'), temporal: z.literal('ok') }).meta({ id: 'Health' });

export const payloadsSchema = z
  .object({ payloads: z.array(z.object({ metadata: z.record(z.string(), z.string()).optional(), data: z.string().optional() })) })
  .meta({ id: 'Payloads', description: 'Temporal payloads in proto3 JSON: metadata values and data in base64.' });

assertType<Same<z.infer<typeof runListItemSchema>, RunListItem>>(true);
assertType<Covers<typeof sessionTurnSchema, SessionState['turns'][number]>>(true);
assertType<Same<z.infer<z.ZodObject<typeof sessionStateShape>>, Omit<SessionState, 'tenant'>>>(true);
assertType<Same<Omit<z.infer<typeof toolSchema>['policy'], 'idempotent' | 'cacheTtlMs'>, Omit<ToolPolicy, 'name'>>>(true);
