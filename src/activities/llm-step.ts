import { ApplicationFailure, CancelledFailure, Context } from '@temporalio/activity';
import OpenAI, { APIConnectionError, APIError, APIUserAbortError } from 'openai';
import type { StreamEvent } from '../shared/events';
import type { LlmStepInput, LlmStepResult } from '../shared/run-types';
import type { LiveRelay, StreamCoordinates } from '../relay/live-relay';
import { ChunkAssembler, ModelStreamError, type ChunkLike } from './chunk-assembler';
import { fitContext, tokenCounterFor } from './context';
import type { Conversation, ConversationCache } from './conversation/conversation-cache';
import { startHeartbeats, stepCancellation } from './heartbeat';
import type { ModelStream } from './model-stream';
import type { ToolRegistry } from './tools/registry';

// One model call, streamed. Every text delta is published the moment it arrives; the assembled
// message is the activity's result. The provider client never retries: Temporal does, and a
// retried attempt first announces itself (step.retrying) so readers drop the partial text.

export interface LlmStepDependencies {
  relay: LiveRelay;
  /** The streamed request (model-stream.ts: less CPU per token than the client's). */
  modelStream: ModelStream;
  /** Non-streamed calls, for endpoints that refuse to stream. */
  openai: OpenAI;
  tools: ToolRegistry;
  /** Where steps read their conversation (inputs of runs recorded before carry it whole). */
  conversations?: ConversationCache;
  /** The model's context window when the run does not say (MODEL_CONTEXT_TOKENS). */
  contextTokens?: number;
  /** Values that must never leave the activity (the model API key): scrubbed from failures. */
  secrets?: Array<string | undefined>;
  heartbeatIntervalMs?: number;
}

export const llmFailureTypes = {
  rejected: 'ModelRequestRejected',
  unavailable: 'ModelUnavailable',
  contextWindow: 'ContextWindowExceeded',
} as const;

export const defaultContextTokens = 128_000;

// Servers word it differently: OpenAI's code, and the messages of vLLM, llama.cpp, Ollama and others.
const contextExceeded = /context[_ ]length[_ ]exceeded|maximum context length|context window|exceeds? the (?:model's )?context|too many tokens|prompt is too long/i;

const refusalStatuses = new Set([400, 404, 405, 415, 422, 501]);

/** True for an endpoint that says it cannot stream (or does not know stream_options). */
function refusesStreaming(error: unknown): boolean {
  return error instanceof APIError && refusalStatuses.has(error.status ?? 0) && /stream/i.test(error.message);
}

// Providers echo keys in errors ("Incorrect API key provided: sk-abc***xyz"); failures are stored
// in history and shown to users, so both the configured key and anything shaped like one go.
const keyShaped = /\b(sk|pk|rk)-[A-Za-z0-9_*.-]{4,}/g;

function scrub(message: string, secrets: Array<string | undefined>): string {
  let out = message;
  for (const secret of secrets) if (secret && secret.length >= 4) out = out.split(secret).join('[redacted]');
  return out.replace(keyShaped, '[redacted]');
}

function toFailure(error: unknown, context: Context, secrets: Array<string | undefined>): Error {
  if (context.cancellationSignal.aborted) {
    return (context.cancellationSignal.reason as Error | undefined) ?? new CancelledFailure('cancelled');
  }
  if (error instanceof APIUserAbortError) return new CancelledFailure('model call aborted');
  // An error chunk mid-stream has no HTTP status; servers such as vLLM put it in `code`.
  const code = error instanceof APIError ? Number(error.code) : Number.NaN;
  const status =
    error instanceof APIError
      ? (error.status ?? (code >= 400 && code < 600 ? code : undefined))
      : error instanceof ModelStreamError
        ? error.status
        : undefined;
  const type = error instanceof APIError ? error.type : error instanceof ModelStreamError ? error.type : undefined;
  const message = scrub(error instanceof Error ? error.message : String(error), secrets);
  const errorCode = error instanceof APIError ? error.code : undefined;
  if (errorCode === 'context_length_exceeded' || (status !== undefined && status >= 400 && status < 500 && contextExceeded.test(message))) {
    // Retrying sends the same conversation again: it cannot help.
    return ApplicationFailure.create({
      type: llmFailureTypes.contextWindow,
      message: `the conversation does not fit the model's context window (the model said: ${message}); set MODEL_CONTEXT_TOKENS, or the run's contextTokens, to the model's window so that it is trimmed to fit`,
      nonRetryable: true,
    });
  }
  const permanent =
    !(error instanceof APIConnectionError) &&
    ((status !== undefined && status >= 400 && status < 500 && status !== 408 && status !== 409 && status !== 429) ||
      type === 'invalid_request_error');
  return ApplicationFailure.create({
    type: permanent ? llmFailureTypes.rejected : llmFailureTypes.unavailable,
    message: `model call failed${status ? ` (HTTP ${status})` : ''}: ${message}`,
    nonRetryable: permanent,
  });
}

export function createLlmStep(dependencies: LlmStepDependencies) {
  const { relay, modelStream, openai, tools } = dependencies;
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
  const prepareRequest = async (input: LlmStepInput, context: Context) => {
    const conversation = await conversationOf(input, context);
    const specs = input.tools.length > 0 ? tools.specs(input.tools) : undefined;
    const counter = tokenCounterFor(input.model);
    const specsKey = `${input.model}\n${input.tools.join('\n')}`;
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
    const request = { model: input.model, messages: fitted.messages as OpenAI.Chat.ChatCompletionMessageParam[], ...(specs ? { tools: specs } : {}) };
    return { request, ...(fitted.report ? { report: fitted.report } : {}) };
  };

  return async function llmStep(input: LlmStepInput): Promise<LlmStepResult> {
    const context = Context.current();
    const { attempt } = context.info;
    const { runId, step } = input;
    const stream = relay.openStream(runId, `llm:${step}`);
    const coordinates = (): StreamCoordinates => ({ relay: relay.address, runId, stream: `llm:${step}`, attempt, cursor: stream.cursor ?? null });
    const stopHeartbeats = startHeartbeats(context, coordinates, dependencies.heartbeatIntervalMs);
    // Aborted by Temporal's cancellation, or sooner by the API's word (heartbeat.ts).
    const cancellation = stepCancellation(context, relay, runId, () => context.heartbeat(coordinates()));

    const publish = (event: StreamEvent) => stream.publish(event);
    if (attempt === 1) publish({ position: { kind: 'step-start', step }, event: 'step.started', data: { runId, step, kind: 'llm' } });
    else {
      publish({
        position: { kind: 'retry', step, attempt },
        event: 'step.retrying',
        data: { runId, step, attempt, reason: `attempt ${attempt - 1} failed; discard this step's partial text` },
      });
    }
    let offset = 0;
    const emitText = (delta: string) => {
      const start = offset;
      offset += delta.length;
      publish({ position: { kind: 'text', step, attempt, start, end: offset }, event: 'text.delta', data: { runId, step, attempt, delta } });
    };

    let prepared: Awaited<ReturnType<typeof prepareRequest>>;
    try {
      prepared = await prepareRequest(input, context);
    } catch (error) {
      stopHeartbeats();
      cancellation.dispose();
      stream.close();
      throw error;
    }
    const { request, report: contextReport } = prepared;
    if (contextReport) publish({ position: { kind: 'context', step, attempt }, event: 'context.trimmed', data: { runId, step, attempt, ...contextReport } });
    const options = { signal: cancellation.signal };
    const assembler = new ChunkAssembler();
    let streamed = true;
    try {
      try {
        const onChunk = (chunk: unknown) => {
          const text = assembler.push(chunk as ChunkLike);
          if (text) emitText(text);
        };
        const completion = await modelStream.chatCompletion({ ...request, stream: true, stream_options: { include_usage: true } }, onChunk, cancellation.signal);
        if (completion) {
          // The endpoint ignored `stream: true` and answered with a whole completion.
          streamed = false;
          emitText(assembleCompletion(assembler, completion));
        } else if (cancellation.signal.aborted) {
          // Cancelled as the stream ended: the step still ends cancelled.
          throw cancellation.signal.reason;
        }
      } catch (error) {
        if (offset > 0 || !refusesStreaming(error)) throw error;
        streamed = false;
        const completion = await openai.chat.completions.create({ ...request, stream: false }, options);
        const text = assembleCompletion(assembler, completion);
        if (text) emitText(text);
      }
    } catch (error) {
      // Stopped by the API's word: end as cancelled once Temporal has cancelled the step too.
      if (cancellation.signal.aborted) await cancellation.settle();
      const failure = toFailure(error, context, dependencies.secrets ?? []);
      // A cancelled step hands the text it had so far to the workflow: the partial transcript.
      if (failure instanceof CancelledFailure) throw new CancelledFailure(failure.message, [{ partialText: assembler.textSoFar, attempt }]);
      throw failure;
    } finally {
      stopHeartbeats();
      cancellation.dispose();
      stream.close();
    }

    const message = assembler.result((position) => `call_${step}_${position}`);
    return {
      text: message.text,
      toolCalls: message.toolCalls,
      usage: message.usage,
      finishReason: message.finishReason,
      attempt,
      streamed,
      ...(contextReport ? { context: contextReport } : {}),
    };
  };
}

/** Feeds a non-streamed completion through the assembler as one chunk; returns its text. */
function assembleCompletion(assembler: ChunkAssembler, completion: OpenAI.Chat.ChatCompletion): string {
  const choice = completion.choices?.[0];
  return assembler.push({
    choices: choice
      ? [
          {
            index: 0,
            delta: {
              content: choice.message?.content ?? null,
              tool_calls: (choice.message?.tool_calls ?? []).map((call, index) => ({
                index,
                id: call.id,
                type: call.type,
                function: 'function' in call ? call.function : undefined,
              })),
            },
            finish_reason: choice.finish_reason,
          },
        ]
      : [],
    usage: completion.usage ?? null,
  });
}
