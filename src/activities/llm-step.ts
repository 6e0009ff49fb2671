import { ApplicationFailure, CancelledFailure, Context } from '@temporalio/activity';
import type { StreamEvent } from '../shared/events';
import type { ContextTrimReport, LlmStepInput, LlmStepResult, Usage } from '../shared/run-types';
import type { LiveRelay, StreamCoordinates } from '../relay/live-relay';
import { fitContext, tokenCounterFor } from './context';
import type { Conversation, ConversationCache } from './conversation/conversation-cache';
import { startHeartbeats, stepCancellation } from './heartbeat';
import { llmFailureTypes, modelFailure } from './models/failures';
import type { ModelProvider, ModelRequest } from './models/provider';
import type { ModelProviders } from './models/providers';
import type { ToolRegistry } from './tools/registry';
import { UsageMeter, usageIntervalMs } from './usage-meter';
import { noTelemetry, type ActivityTelemetry, type ModelCallObserver } from '../telemetry/activity-telemetry';

// One model call, streamed. Every text delta is published the moment it arrives; the assembled
// message is the activity's result. The provider client never retries: Temporal does, and a
// retried attempt first announces itself (step.retrying) so readers drop the partial text. A
// fallback model is a new activity of the same step (src/workflows/model-step.ts) whose attempts
// are numbered on from the ones before (`attemptBase`), so event positions never repeat.

export interface LlmStepDependencies {
  relay: LiveRelay;
  /** Which provider serves a model reference (models/providers.ts). */
  providers: ModelProviders;
  tools: ToolRegistry;
  /** Where steps read their conversation (inputs of runs recorded before carry it whole). */
  conversations?: ConversationCache;
  /** The model's context window when the run does not say (MODEL_CONTEXT_TOKENS). */
  contextTokens?: number;
  heartbeatIntervalMs?: number;
  /** How often usage.updated goes out while text streams, at most (default 250 ms). */
  usageIntervalMs?: number;
  /** Metrics and traces of each model call (src/telemetry). */
  telemetry?: ActivityTelemetry;
}

export { llmFailureTypes };

export const defaultContextTokens = 128_000;

/** What an error means for the step: cancelled, or one of the model failure types. */
function toFailure(error: unknown, provider: ModelProvider, context: Context, secrets: Array<string | undefined>): Error {
  if (context.cancellationSignal.aborted) {
    return (context.cancellationSignal.reason as Error | undefined) ?? new CancelledFailure('cancelled');
  }
  const facts = provider.describe(error);
  if (facts.aborted) return new CancelledFailure(facts.message);
  return modelFailure(facts, secrets);
}

/** What a step's failure is called in metrics and traces. */
function failureTypeOf(error: unknown): string {
  if (error instanceof CancelledFailure) return 'cancelled';
  if (error instanceof ApplicationFailure && error.type) return error.type;
  return 'error';
}

export function createLlmStep(dependencies: LlmStepDependencies) {
  const { relay, providers, tools } = dependencies;
  const telemetry = dependencies.telemetry ?? noTelemetry;
  const toolTokens = new Map<string, number>();

  /** The conversation before this step: in the input (older runs, small first steps) or read from the run. */
  const conversationOf = async (input: LlmStepInput, context: Context): Promise<Conversation> => {
    if (input.messages) {
      const taskIndex = input.messages.findLastIndex((message) => message.role === 'user');
      return { messages: input.messages, taskIndex: Math.max(0, taskIndex) };
    }
    if (!dependencies.conversations) throw new Error('this worker cannot read conversations: it has no Temporal client');
    const execution = context.info.workflowExecution;
    if (!execution) throw new Error('llmStep runs only as an activity of a run');
    return dependencies.conversations.conversation(input.runId, execution.runId, input.step);
  };

  /** The conversation, fitted into the model's context window, as the request to send. */
  const prepareRequest = async (input: LlmStepInput, model: string, context: Context) => {
    const conversation = await conversationOf(input, context);
    const specs = input.tools.length > 0 ? tools.specs(input.tools) : undefined;
    const counter = tokenCounterFor(model);
    const specsKey = `${model}\n${input.tools.join('\n')}`;
    if (specs && !toolTokens.has(specsKey)) toolTokens.set(specsKey, counter.count(JSON.stringify(specs)));
    const maxTokens = input.contextTokens ?? dependencies.contextTokens ?? defaultContextTokens;
    const fitted = fitContext(conversation.messages, { maxTokens, toolsTokens: toolTokens.get(specsKey) ?? 0, taskIndex: conversation.taskIndex, counter });
    if (!fitted.fits) {
      throw ApplicationFailure.create({
        type: llmFailureTypes.contextWindow,
        nonRetryable: true,
        message:
          `the system prompt, the task and the newest message do not fit the model's context window of ${maxTokens} tokens ` +
          `(MODEL_CONTEXT_TOKENS, or the run's contextTokens) with room for the answer`,
      });
    }
    const request: ModelRequest = { model, messages: fitted.messages, ...(specs ? { tools: specs } : {}), callId: (position) => `call_${input.step}_${position}` };
    const meter = new UsageMeter(counter, fitted.tokens, dependencies.usageIntervalMs ?? usageIntervalMs);
    return { request, meter, ...(fitted.report ? { report: fitted.report } : {}) };
  };

  return async function llmStep(input: LlmStepInput): Promise<LlmStepResult> {
    const context = Context.current();
    // Numbered on across the models of the step: positions (s.attempt.offset) must never repeat.
    const attempt = (input.attemptBase ?? 0) + context.info.attempt;
    const startedAt = Date.now();
    let firstTokenMs: number | undefined;
    const { runId, step } = input;
    const stream = relay.openStream(runId, `llm:${step}`);
    let text = '';
    let meter: UsageMeter | undefined;
    // With the latest usage estimate: an API in another process reads it from here (GET /v1/runs/:id).
    const coordinates = (): StreamCoordinates => {
      const usage = meter?.last;
      return { relay: relay.address, runId, stream: `llm:${step}`, attempt, cursor: stream.cursor ?? null, ...(usage ? { usage, model: input.model } : {}) };
    };
    const stopHeartbeats = startHeartbeats(context, coordinates, dependencies.heartbeatIntervalMs);
    // Aborted by Temporal's cancellation, or sooner by the API's word (heartbeat.ts).
    const cancellation = stepCancellation(context, relay, runId, () => context.heartbeat(coordinates()));

    const publish = (event: StreamEvent) => stream.publish(event);
    if (attempt === 1) publish({ position: { kind: 'step-start', step }, event: 'step.started', data: { runId, step, kind: 'llm' } });
    else {
      // The first attempt on a fallback model says why (the workflow wrote it); later ones, that an attempt failed.
      const reason = context.info.attempt === 1 && input.retryReason ? input.retryReason : `attempt ${attempt - 1} failed; discard this step's partial text`;
      publish({ position: { kind: 'retry', step, attempt }, event: 'step.retrying', data: { runId, step, attempt, reason } });
    }
    const budget = input.budget;
    /** usage.updated: at the offset of the text it counted (sent only to clients exactly there). */
    const publishUsage = (usage: Usage) => {
      const runTokens = budget ? budget.usedTokens + usage.totalTokens : undefined;
      publish({
        position: { kind: 'usage', step, attempt, offset: text.length },
        event: 'usage.updated',
        data: { runId, step, attempt, model: input.model, usage, estimated: true, ...(budget ? { maxTokens: budget.maxTokens, runTokens, fraction: runTokens! / budget.maxTokens } : {}) },
      });
    };
    let observer: ModelCallObserver | undefined;
    const emitText = (delta: string) => {
      firstTokenMs ??= Date.now() - startedAt;
      observer?.text(delta);
      const start = text.length;
      text += delta;
      publish({ position: { kind: 'text', step, attempt, start, end: text.length }, event: 'text.delta', data: { runId, step, attempt, delta } });
      const usage = meter?.due(text);
      if (usage) publishUsage(usage);
    };

    let prepared: { provider: ModelProvider; request: ModelRequest; meter: UsageMeter; report?: ContextTrimReport };
    try {
      const { provider, model, system } = providers.resolve(input.model);
      observer = telemetry.modelCall({ runId, step, attempt, activityAttempt: context.info.attempt, model, provider: system, fallback: context.info.attempt === 1 && (input.attemptBase ?? 0) > 0, startedAt });
      prepared = { provider, ...(await prepareRequest(input, model, context)) };
    } catch (error) {
      observer?.end({ ok: false, errorType: failureTypeOf(error) });
      stopHeartbeats();
      cancellation.dispose();
      stream.close();
      throw error;
    }
    const { provider, request, report: contextReport } = prepared;
    meter = prepared.meter;
    if (contextReport) publish({ position: { kind: 'context', step, attempt }, event: 'context.trimmed', data: { runId, step, attempt, ...contextReport } });
    try {
      const message = await provider.complete(request, emitText, cancellation.signal);
      // Cancelled as the stream ended: the step still ends cancelled.
      if (cancellation.signal.aborted) throw cancellation.signal.reason;
      observer.end({
        ok: true,
        ...(message.usage ? { inputTokens: message.usage.promptTokens, outputTokens: message.usage.completionTokens } : {}),
        finishReason: message.finishReason,
        ...(firstTokenMs !== undefined ? { firstTokenMs } : {}),
        toolCalls: message.toolCalls.length,
      });
      return {
        text: message.text,
        toolCalls: message.toolCalls,
        usage: message.usage,
        finishReason: message.finishReason,
        attempt,
        streamed: message.streamed,
        ...(contextReport ? { context: contextReport } : {}),
        ...(firstTokenMs !== undefined ? { firstTokenMs } : {}),
      };
    } catch (error) {
      // Stopped by the API's word: end as cancelled once Temporal has cancelled the step too.
      if (cancellation.signal.aborted) await cancellation.settle();
      const failure = toFailure(error, provider, context, providers.secrets);
      observer.end({ ok: false, errorType: failureTypeOf(failure), message: failure.message });
      // A cancelled step hands the text it had so far to the workflow: the partial transcript.
      if (failure instanceof CancelledFailure) throw new CancelledFailure(failure.message, [{ partialText: text, attempt }]);
      throw failure;
    } finally {
      stopHeartbeats();
      cancellation.dispose();
      stream.close();
    }
  };
}
