import { z } from 'zod';
import type { RunEventBody, RunEventName } from '../../shared/events';
import { approvalDecisionSchema, contextTrimSchema, costSchema, runErrorSchema, truncationSchema, usageSchema } from './run-schemas';
import { assertType, type Same } from './type-checks';

// The SSE protocol (src/shared/events.ts) as zod schemas: each event's data, checked against the
// RunEventBody union at compile time, and the whole message ({id, event, data}) as the document's
// RunEvent component, one variant per event name.

const count = z.number().int().min(0);
const base = { runId: z.string(), step: count };
const call = { callId: z.string(), name: z.string() };
const stepKind = z.enum(['llm', 'tools', 'approval']);

const toolProgressSchema = z.object({
  message: z.string().optional(),
  fraction: z.number().min(0).max(1).optional(),
  data: z.unknown().optional().meta({ description: 'Whatever the tool reports (JSON).' }),
});

const liveUsage = {
  attempt: count,
  model: z.string().meta({ description: 'The model answering this attempt (a fallback\'s, after one).' }),
  usage: usageSchema,
  estimated: z.literal(true),
  maxTokens: count.optional(),
  runTokens: count.optional(),
  fraction: z.number().min(0).optional(),
  cost: costSchema.optional(),
};

const data = <Shape extends z.ZodRawShape>(id: string, description: string, shape: Shape) =>
  z.object({ ...base, ...shape }).meta({ id, description });

/** Each event's data, by event name. */
export const eventDataSchemas = {
  'run.started': data('RunStartedData', 'The run began.', { input: z.string(), model: z.string() }),
  'run.queued': data('RunQueuedData', 'No worker has taken the run, or its first model step, for a quarter of a second. Its id is the client\'s position.', {
    reason: z.string(),
  }),
  'stream.live': data('StreamLiveData', 'With ?from=latest, first: the stream starts at the live edge (no history). Its id is the edge.', {}),
  'step.started': data('StepStartedData', 'A model (llm) or tools step began.', { kind: stepKind }),
  'context.trimmed': data('ContextTrimmedData', 'What this model step was not sent, to fit the context window.', { attempt: count, ...contextTrimSchema.shape }),
  'text.delta': data('TextDeltaData', 'Text the model streamed.', { attempt: count, delta: z.string() }),
  'step.retrying': data('StepRetryingData', 'The step is retried: drop the text it streamed so far.', { attempt: count, reason: z.string() }),
  'usage.updated': data('UsageUpdatedData', 'A model step\'s tokens so far, estimated (live only). Its id is that of the text it counted.', liveUsage),
  'tool.started': data('ToolStartedData', 'A tool call began; estimatedMs is the tool\'s recent p50 once it has a few timed calls.', {
    ...call,
    arguments: z.string(),
    estimatedMs: z.number().min(0).optional(),
    estimateSamples: count.optional(),
  }),
  'tool.progress': data('ToolProgressData', 'A tool reported progress; etaMs when fraction is set.', { ...call, progress: toolProgressSchema, etaMs: z.number().min(0).optional() }),
  'tool.output.delta': data('ToolOutputDeltaData', 'Output a tool streams as it works; a later attempt\'s output starts the call\'s output over.', {
    ...call,
    attempt: count,
    delta: z.string(),
  }),
  'tool.completed': data('ToolCompletedData', 'A tool call\'s result (what the model reads).', {
    ...call,
    result: z.string(),
    attempts: count,
    truncated: truncationSchema.optional(),
    cached: z.literal(true).optional(),
    outputTruncated: truncationSchema.optional(),
  }),
  'tool.failed': data('ToolFailedData', 'A tool call failed (the model reads the error).', { ...call, error: z.string(), attempts: count, outputTruncated: truncationSchema.optional() }),
  'approval.requested': data('ApprovalRequestedData', 'A call waits for POST /v1/runs/{runId}/approvals/{callId}.', { ...call, arguments: z.string() }),
  'approval.decided': data('ApprovalDecidedData', 'A call was approved, denied, or nobody decided in time.', { ...call, decision: approvalDecisionSchema, reason: z.string().optional() }),
  'step.completed': data('StepCompletedData', 'A step ended; model steps carry their usage, cost and time to first token (ms from the final attempt\'s start on the worker to its first text).', { kind: stepKind, usage: usageSchema.optional(), cost: costSchema.optional(), firstTokenMs: z.number().int().nonnegative().optional() }),
  'run.completed': data('RunCompletedData', 'The run ended with a final answer. The stream closes.', { output: z.string(), usage: usageSchema, cost: costSchema.optional() }),
  'run.failed': data('RunFailedData', 'The run failed. The stream closes.', { error: runErrorSchema, usage: usageSchema, cost: costSchema.optional() }),
  'run.cancelled': data('RunCancelledData', 'The run was cancelled; partial is the text streamed before. The stream closes.', {
    partial: z.string(),
    usage: usageSchema,
    cost: costSchema.optional(),
  }),
} satisfies Record<RunEventName, z.ZodType>;

type DataOf<Name extends RunEventName> = Extract<RunEventBody, { event: Name }>['data'];
type Checks = { [Name in RunEventName]: Same<z.infer<(typeof eventDataSchemas)[Name]>, DataOf<Name>> };
// A missing event name, or data that differs from the union's, does not compile.
assertType<Checks[RunEventName]>(true);
assertType<Same<keyof typeof eventDataSchemas, RunEventName>>(true);

const eventNames = Object.keys(eventDataSchemas) as RunEventName[];

/** One SSE message: `id:` (the client's position), `event:` (the name) and `data:` (JSON). */
export const runEventSchema = z
  .discriminatedUnion(
    'event',
    eventNames.map((name) => z.object({ id: z.string().meta({ description: 'A position in the run: send it back as Last-Event-ID to resume.' }), event: z.literal(name), data: eventDataSchemas[name] })) as unknown as [
      z.ZodObject,
      ...z.ZodObject[],
    ],
  )
  .meta({ id: 'RunEvent', description: 'A message of the event stream: the `id:`, `event:` and `data:` lines of one SSE message, data parsed from JSON.' });
