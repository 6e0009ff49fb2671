import {
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  CancelledFailure,
  ContinueAsNew,
  allHandlersFinished,
  condition,
  isCancellation,
  makeContinueAsNewFunc,
  patched,
  setHandler,
  upsertMemo,
  workflowInfo,
} from '@temporalio/workflow';
import {
  addModelUsage,
  addUsage,
  emptyUsage,
  type AgentTurnInput,
  type ApprovalStepRecord,
  type ChatMessage,
  type LlmStepInput,
  type LlmStepRecord,
  type RunState,
  type RunSummary,
  type ToolCall,
} from '../shared/run-types';
import { pageOfSteps, tailOfSteps } from '../shared/step-pages';
import { registerApprovalHandler, resumeApprovalStep, runApprovalStep, type ApprovalWaitOptions } from './approvals';
import { defaultHistoryLimits, failureTypes, maxStepsCap, runErrorCodes, runPageQuery, runStateQuery } from './definitions';
import { runModelStep } from './model-step';
import { showProgress } from './run-details';
import { runEnded, runStarted } from './run-metrics';
import { addStep, historyFull, pendingApprovals, summarize } from './run-state';
import { condenseTurn } from './session-context';
import { failureMessage, runToolStep, runToolStepSequentially } from './tool-step';

// One agent turn: model step, then the tool calls it asked for, results back to the model, until
// it answers without tools or maxSteps model steps have run. Deterministic: all I/O is in activities.
//
// The history grows with the work, not with its square: each piece of content is written once,
// in the result of the activity that produced it. Model steps are not sent the conversation (the
// activity reads what its worker lacks with the runPage query), the result and failures carry a
// summary, and before the history reaches Temporal's limits the run continues as new, carrying
// pointers to the executions before it.

/** A first step's context up to this size rides in its input, which saves the activity a query. */
const inlineContextChars = 8 * 1024;

/** What a cancelled activity handed over (llmStep: the text it had streamed). */
function cancelledDetails(error: unknown): { partialText?: unknown } | undefined {
  const cause = error instanceof ActivityFailure ? error.cause : undefined;
  return cause instanceof CancelledFailure ? (cause.details[0] as { partialText?: unknown } | undefined) : undefined;
}

/** The largest end summary a cancelled run keeps in its memo (memos live in visibility too). */
const endedMemoBytes = 16 * 1024;

const failureType = (error: unknown) => (error instanceof ActivityFailure && error.cause instanceof ApplicationFailure ? error.cause.type : undefined);

export async function agentTurn(input: AgentTurnInput): Promise<RunSummary> {
  const runId = workflowInfo().workflowId;
  const maxSteps = Math.max(1, Math.min(input.maxSteps, maxStepsCap));
  const limits = input.historyLimits ?? defaultHistoryLimits;
  const continued = input.continued;
  const segments = continued?.segments ?? [];
  const firstStep = (segments.at(-1)?.lastStep ?? 0) + 1;
  // What the model is sent: this context, then the turn so far, rebuilt from the steps.
  const context: ChatMessage[] = [...(input.system ? [{ role: 'system' as const, content: input.system }] : []), ...(input.messages ?? [])];
  const state: RunState = {
    runId,
    input: input.input,
    model: input.model,
    status: 'running',
    steps: [],
    stepCount: firstStep - 1,
    usage: continued?.usage ?? emptyUsage(),
    modelUsage: continued?.modelUsage ?? [],
    ...(input.maxTokens ? { maxTokens: input.maxTokens } : {}),
    firstStep,
    segments,
  };
  let modelSteps = continued?.modelSteps ?? 0;
  setHandler(runStateQuery, () => state);
  setHandler(runPageQuery, (request) => {
    const contextSize = request.withContext ? JSON.stringify(context).length : 0;
    const maxBytes = request.maxBytes === undefined ? undefined : Math.max(1024, request.maxBytes - contextSize);
    return {
      run: summarize(state),
      firstStep,
      ...pageOfSteps(state.steps, firstStep, { ...request, maxBytes }),
      ...(request.withContext ? { context } : {}),
      pendingApprovals: pendingApprovals(state),
    };
  });
  registerApprovalHandler(state);
  if (!continued) runStarted();

  /** Goes on in a new execution: same run id, steps numbered on, nothing of their content carried. */
  const continueRun = async (approval?: { record: ApprovalStepRecord; toolCalls: ToolCall[] }): Promise<never> => {
    // A cancel that came with the last activation must not be left behind in this execution.
    if (CancellationScope.current().consideredCancelled) throw new CancelledFailure('the run was cancelled');
    await condition(allHandlersFinished);
    const lastStep = approval ? approval.record.step - 1 : state.stepCount;
    runEnded('continued');
    // The memo (the run's tenant) goes on with the run.
    return makeContinueAsNewFunc<typeof agentTurn>({ memo: workflowInfo().memo ?? {} })({
      ...input,
      continued: {
        segments: [...segments, { executionId: workflowInfo().runId, firstStep, lastStep }],
        usage: state.usage,
        modelUsage: state.modelUsage,
        modelSteps,
        ...(approval ? { approval } : {}),
      },
    });
  };
  // An execution goes on as new only once it has done something of its own (no endless chain
  // under tiny limits): more than the approval wait it may have been handed.
  const progressed = () => state.steps.length > (continued?.approval ? 1 : 0);
  // Runs recorded before bounded histories replay without continuing as new. The patch is asked
  // only where it decides something: a marker up front cost the first workflow task ~4 ms.
  const mayContinue = () => progressed() && historyFull(limits) && patched('bounded-history');
  const approvalOptions = (toolCalls: ToolCall[]): ApprovalWaitOptions => ({ historyFull: mayContinue, continueAsNew: (record) => continueRun({ record, toolCalls }) });

  const finish = (): RunSummary => {
    showProgress(state);
    runEnded('completed');
    const summary = summarize(state);
    // Readers of the closed run take its last steps from here rather than replaying it (a
    // result's content, not a command: histories recorded before replay the same).
    const tail = tailOfSteps(state.steps);
    if (tail.length > 0) summary.tail = tail;
    if (input.turnChars !== undefined) summary.turn = condenseTurn(input.input, state.steps, firstStep > 1, input.turnChars);
    return summary;
  };
  const fail = (code: string, message: string, type: string = failureTypes.runFailed): never => {
    state.status = 'failed';
    state.error = { code, message };
    showProgress(state);
    runEnded('failed', code);
    throw ApplicationFailure.create({ type, message, nonRetryable: true, details: [summarize(state)] });
  };

  try {
    if (continued?.approval) {
      const { record, toolCalls } = continued.approval;
      const decisions = await resumeApprovalStep(state, record, approvalOptions(toolCalls));
      await runToolStep(state, input, toolCalls, decisions);
    }
    while (modelSteps < maxSteps) {
      if (mayContinue()) await continueRun();
      const record = addStep<LlmStepRecord>(state, { step: state.stepCount + 1, kind: 'llm', status: 'running' });
      modelSteps++;
      const stepInput: LlmStepInput = { runId, step: record.step, model: input.model, tools: input.tools, ...(input.contextTokens ? { contextTokens: input.contextTokens } : {}) };
      // Only runs with a budget carry it: the inputs of runs without one stay as they were.
      if (input.maxTokens) stepInput.budget = { maxTokens: input.maxTokens, usedTokens: state.usage.totalTokens };
      if (record.step === 1) {
        const messages = [...context, { role: 'user' as const, content: input.input }];
        if (JSON.stringify(messages).length <= inlineContextChars) stepInput.messages = messages;
      }
      const { result, model, retryReason } = await runModelStep(stepInput, input.modelFallbacks);
      Object.assign(record, {
        status: 'completed',
        attempt: result.attempt,
        model,
        ...(retryReason ? { retryReason } : {}),
        text: result.text,
        toolCalls: result.toolCalls,
        usage: result.usage,
        finishReason: result.finishReason,
        ...(result.context ? { context: result.context } : {}),
        ...(result.firstTokenMs !== undefined ? { firstTokenMs: result.firstTokenMs } : {}),
      });
      state.usage = addUsage(state.usage, result.usage);
      state.modelUsage = addModelUsage(state.modelUsage ?? [], model, result.usage);
      if (result.toolCalls.length === 0) {
        state.status = 'completed';
        state.output = result.text;
        return finish();
      }
      // Over its token budget: no tool runs whose results no model step would read.
      if (input.maxTokens && state.usage.totalTokens >= input.maxTokens) {
        return fail(
          runErrorCodes.maxTokensExceeded,
          `the run used ${state.usage.totalTokens} tokens of its budget of ${input.maxTokens} (maxTokens) and the model was still calling tools`,
          failureTypes.maxTokensExceeded,
        );
      }
      // Runs recorded before parallel tool calls ran them one by one through `runTool`.
      if (patched('parallel-tool-calls')) {
        const decisions = await runApprovalStep(state, input, result.toolCalls, approvalOptions(result.toolCalls));
        await runToolStep(state, input, result.toolCalls, decisions);
      } else await runToolStepSequentially(state, result.toolCalls);
    }
    return fail(runErrorCodes.maxStepsExceeded, `the model was still calling tools after ${maxSteps} model steps (maxSteps)`, failureTypes.maxStepsExceeded);
  } catch (error) {
    if (error instanceof ContinueAsNew) throw error;
    if (isCancellation(error)) {
      state.status = 'cancelled';
      showProgress(state);
      runEnded('cancelled');
      const current = state.steps.at(-1);
      const partialText = cancelledDetails(error)?.partialText;
      if (current?.kind === 'llm' && current.status === 'running' && typeof partialText === 'string') current.partialText = partialText;
      // A cancelled run ends with no result: its end goes in its memo (bounded), which readers get
      // with their describe, rather than a query that a worker answers by replaying the run.
      if (patched('cancelled-summary-memo')) {
        const ended: RunSummary = { ...summarize(state), tail: tailOfSteps(state.steps, endedMemoBytes / 2) };
        if (JSON.stringify(ended).length <= endedMemoBytes) upsertMemo({ ended });
      }
      throw error;
    }
    if (error instanceof ApplicationFailure && (error.type === failureTypes.maxStepsExceeded || error.type === failureTypes.maxTokensExceeded || error.type === failureTypes.runFailed)) throw error;
    const code = failureType(error) === 'ContextWindowExceeded' ? runErrorCodes.contextWindowExceeded : runErrorCodes.modelStepFailed;
    return fail(code, failureMessage(error));
  }
}
