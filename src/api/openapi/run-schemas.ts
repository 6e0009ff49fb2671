import { z } from 'zod';
import type { Cost } from '../../shared/prices';
import type { ContextTrimReport, PendingApproval, RunError, StepRecord, ToolCall, TruncationInfo, Usage } from '../../shared/run-types';
import { assertType, type Same } from './type-checks';

// The data a run is made of (src/shared/run-types.ts) as zod schemas for the OpenAPI document,
// each checked against its TypeScript type at compile time. Responses and events both use them.

const count = z.number().int().min(0);

export const usageSchema = z
  .object({ promptTokens: count, completionTokens: count, totalTokens: count })
  .meta({ id: 'Usage', description: 'Tokens: prompt and completion, and their sum.' });

export const costSchema = z
  .object({
    currency: z.literal('USD'),
    input: z.number().min(0).meta({ description: 'Prompt tokens at the input price.' }),
    output: z.number().min(0).meta({ description: 'Completion tokens at the output price.' }),
    total: z.number().min(0),
  })
  .meta({ id: 'Cost', description: 'At the prices of MODEL_PRICES (USD per million tokens); absent for a model without a price.' });

export const runErrorSchema = z
  .object({ code: z.string(), message: z.string() })
  .meta({
    id: 'RunError',
    description: 'Why a run failed: max_steps_exceeded, max_tokens_exceeded, model_step_failed, context_window_exceeded, or Temporal\'s own ends: terminated, timed_out.',
  });

export const truncationSchema = z
  .object({ totalBytes: count, keptBytes: count })
  .meta({ id: 'Truncation', description: 'A result or output cut to fit: how much there was and how much was kept.' });

export const contextTrimSchema = z
  .object({
    tokensBefore: count,
    tokensAfter: count,
    maxTokens: count,
    toolResultsLeftOut: count,
    messagesLeftOut: count,
    estimate: z.boolean().meta({ description: 'Counted with an estimate (unknown model), not the model\'s tokenizer.' }),
  })
  .meta({ id: 'ContextTrim', description: 'What a model step was not sent, to fit the context window.' });

export const approvalDecisionSchema = z.enum(['approved', 'denied', 'timed_out']).meta({ id: 'ApprovalDecision' });

const toolCallSchema = z.object({ id: z.string(), name: z.string(), arguments: z.string().meta({ description: 'JSON text exactly as the model produced it.' }) });

const llmStepSchema = z.object({
  step: count,
  kind: z.literal('llm'),
  status: z.enum(['running', 'completed']),
  attempt: count.optional(),
  model: z.string().optional().meta({ description: 'The model that answered.' }),
  retryReason: z.string().optional().meta({ description: 'Why the step left its model for this one (a fallback).' }),
  text: z.string().optional(),
  toolCalls: z.array(toolCallSchema).optional(),
  usage: usageSchema.optional(),
  finishReason: z.string().optional(),
  partialText: z.string().optional().meta({ description: 'The text streamed before the run was cancelled in this step.' }),
  context: contextTrimSchema.optional(),
  firstTokenMs: z.number().int().nonnegative().optional().meta({ description: 'Time to first token of the final attempt: from its start on the worker to its first text.' }),
});

const toolCallRecordSchema = z.object({
  callId: z.string(),
  name: z.string(),
  arguments: z.string(),
  status: z.enum(['pending', 'running', 'completed', 'failed']),
  result: z.string().optional(),
  error: z.string().optional(),
  attempts: count.optional(),
  truncated: truncationSchema.optional(),
  cached: z.literal(true).optional(),
  estimatedMs: z.number().min(0).optional(),
  estimateSamples: count.optional(),
  output: z.string().optional().meta({ description: 'What the call streamed (tool.output.delta) in its last attempt.' }),
  outputTruncated: truncationSchema.optional(),
});

const toolsStepSchema = z.object({
  step: count,
  kind: z.literal('tools'),
  status: z.enum(['running', 'completed']),
  calls: z.array(toolCallRecordSchema),
  events: z.array(z.object({ type: z.enum(['started', 'finished']), callIndex: count })),
});

const approvalStepSchema = z.object({
  step: count,
  kind: z.literal('approval'),
  status: z.enum(['running', 'completed']),
  calls: z.array(z.object({ callId: z.string(), name: z.string(), arguments: z.string(), decision: approvalDecisionSchema.optional(), reason: z.string().optional() })),
  events: z.array(z.object({ type: z.enum(['requested', 'decided']), callIndex: count })),
  deadline: z.string().meta({ description: 'When undecided calls count as denied (ISO time).' }),
});

export const stepRecordSchema = z.discriminatedUnion('kind', [llmStepSchema, toolsStepSchema, approvalStepSchema]);

/** A step as GET /v1/runs/:runId gives it: with its cost when its model has a price. */
export const pricedStepSchema = z
  .discriminatedUnion('kind', [llmStepSchema.extend({ cost: costSchema.optional() }), toolsStepSchema, approvalStepSchema])
  .meta({ id: 'Step', description: 'A model step (llm), a tools step (its calls with results or errors) or an approval step.' });

export const pendingApprovalSchema = z
  .object({ step: count, callId: z.string(), name: z.string(), arguments: z.string(), deadline: z.string() })
  .meta({ id: 'PendingApproval' });

assertType<Same<z.infer<typeof usageSchema>, Usage>>(true);
assertType<Same<z.infer<typeof costSchema>, Cost>>(true);
assertType<Same<z.infer<typeof runErrorSchema>, RunError>>(true);
assertType<Same<z.infer<typeof truncationSchema>, TruncationInfo>>(true);
assertType<Same<z.infer<typeof contextTrimSchema>, ContextTrimReport>>(true);
assertType<Same<z.infer<typeof toolCallSchema>, ToolCall>>(true);
assertType<Same<z.infer<typeof stepRecordSchema>, StepRecord>>(true);
assertType<Same<z.infer<typeof pendingApprovalSchema>, PendingApproval>>(true);
