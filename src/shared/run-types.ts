// Plain data types shared by the workflow, the activities and the API.
// This module must stay free of Node built-ins: the workflow bundle imports it.

export interface ToolCall {
  id: string;
  name: string;
  /** JSON text exactly as the model produced it. */
  arguments: string;
}

/** A tool call in the Chat Completions message format. */
export interface MessageToolCall {
  id: string;
  type: 'function';
  function: { name: string; arguments: string };
}

/** A message in the Chat Completions format, as sent to the model. */
export type ChatMessage =
  | { role: 'system'; content: string }
  | { role: 'user'; content: string }
  | { role: 'assistant'; content: string | null; tool_calls?: MessageToolCall[] }
  | { role: 'tool'; tool_call_id: string; content: string };

export interface Usage {
  promptTokens: number;
  completionTokens: number;
  totalTokens: number;
}

export const emptyUsage = (): Usage => ({ promptTokens: 0, completionTokens: 0, totalTokens: 0 });

/** A run's usage on one model (costs are per model: the API prices them when it reads them). */
export interface ModelUsage {
  model: string;
  usage: Usage;
}

/** `list` with `usage` added to `model`'s entry (a new list: workflow state is replaced, not edited). */
export function addModelUsage(list: readonly ModelUsage[], model: string, usage: Usage | undefined): ModelUsage[] {
  if (!usage) return [...list];
  const found = list.some((entry) => entry.model === model);
  return found ? list.map((entry) => (entry.model === model ? { model, usage: addUsage(entry.usage, usage) } : entry)) : [...list, { model, usage: addUsage(emptyUsage(), usage) }];
}

export function addUsage(total: Usage, more: Usage | undefined): Usage {
  if (!more) return total;
  return {
    promptTokens: total.promptTokens + more.promptTokens,
    completionTokens: total.completionTokens + more.completionTokens,
    totalTokens: total.totalTokens + more.totalTokens,
  };
}

/** How the workflow schedules one tool's calls (from the tool registry). */
export interface ToolPolicy {
  name: string;
  timeoutMs: number;
  maximumAttempts: number;
  initialIntervalMs: number;
  backoffCoefficient: number;
  maximumIntervalMs: number;
  needsApproval: boolean;
}

export interface AgentTurnInput {
  input: string;
  messages?: ChatMessage[];
  model: string;
  system?: string;
  /** Names of the tools the model may call. */
  tools: string[];
  /** Per tool; runs started before policies existed have none and get the defaults. */
  toolPolicies?: ToolPolicy[];
  /** How many tool calls of one step run at once (default 8). */
  toolConcurrency?: number;
  /** false: tools with a cache policy run every time (the run's `"cache": false`). */
  cache?: boolean;
  /** How long a call that needs approval waits for a decision (default 24 h). */
  approvalTimeoutMs?: number;
  maxSteps: number;
  /** The run's token budget (prompt and completion tokens of all its model steps); unset: none. */
  maxTokens?: number;
  /** The model's context window in tokens (default 128,000): what is sent is fitted into it. */
  contextTokens?: number;
  /** MODEL_FALLBACKS: models tried in order while the one before stays unavailable, each for `attempts` attempts. */
  modelFallbacks?: ModelFallbacks;
  /** The run continues as new once its history reaches either (Temporal warns at 10,240 / 10 MB). */
  historyLimits?: HistoryLimits;
  /** Session turns: the result carries the turn's messages, fitted into this many characters. */
  turnChars?: number;
  /** Set when the run continued as new: what the earlier executions left. */
  continued?: RunContinuation;
}

export interface ModelFallbacks {
  /** Model references (src/shared/model-ref.ts), in the order they are tried. */
  models: string[];
  /** Attempts each model gets before the next is tried. */
  attempts: number;
}

export interface HistoryLimits {
  events: number;
  bytes: number;
}

/** One finished execution of a run that continued as new, and the steps it holds. */
export interface ExecutionSegment {
  executionId: string;
  firstStep: number;
  lastStep: number;
}

/** What a run carries into its next execution: pointers and totals, never the steps' content. */
export interface RunContinuation {
  segments: ExecutionSegment[];
  usage: Usage;
  /** The same usage per model (runs continued before it existed have none). */
  modelUsage?: ModelUsage[];
  /** Model steps run so far (maxSteps counts them over the whole run). */
  modelSteps: number;
  /** An approval wait in progress: it goes on, same step and deadline, in the new execution. */
  approval?: { record: ApprovalStepRecord; toolCalls: ToolCall[] };
}

export interface LlmStepRecord {
  step: number;
  kind: 'llm';
  status: 'running' | 'completed';
  /** Attempt whose text is final (set when completed). */
  attempt?: number;
  /** The model that answered (set when completed; runs recorded before have none: the run's model). */
  model?: string;
  /** Why the step left its model for this one, when the final attempt was the fallback's first. */
  retryReason?: string;
  text?: string;
  toolCalls?: ToolCall[];
  usage?: Usage;
  finishReason?: string;
  /** The text streamed before the run was cancelled in this step. */
  partialText?: string;
  /** What was left out of the conversation to fit the model's context window (final attempt). */
  context?: ContextTrimReport;
  /** Time to first token of the final attempt, as the worker measured it (set when completed). */
  firstTokenMs?: number;
}

/** Data of a context.trimmed event: what the model was not sent, to fit its context window. */
export interface ContextTrimReport {
  tokensBefore: number;
  tokensAfter: number;
  maxTokens: number;
  toolResultsLeftOut: number;
  messagesLeftOut: number;
  /** Counted with an estimate (unknown model), not the model's tokenizer. */
  estimate: boolean;
}

/** A tool result cut to fit: the model reads a marker that says how much is missing. */
export interface TruncationInfo {
  totalBytes: number;
  keptBytes: number;
}

export interface ToolCallRecord {
  callId: string;
  name: string;
  arguments: string;
  status: 'pending' | 'running' | 'completed' | 'failed';
  result?: string;
  error?: string;
  attempts?: number;
  truncated?: TruncationInfo;
  /** The result came from the tool cache (an equal call's, still fresh). */
  cached?: true;
  /** What tool.started announced (live readers saw it; late ones rebuild it from here). */
  estimatedMs?: number;
  estimateSamples?: number;
  /** What the call streamed (tool.output.delta) in its last attempt (`attempts`), if anything. */
  output?: string;
  /** The streamed output stopped at its limit: how much the tool wrote and how much was kept. */
  outputTruncated?: TruncationInfo;
}

/** Order in which tool events happened within one tools step; ids are positions in this list. */
export interface ToolEventRecord {
  type: 'started' | 'finished';
  callIndex: number;
}

export interface ToolStepRecord {
  step: number;
  kind: 'tools';
  status: 'running' | 'completed';
  calls: ToolCallRecord[];
  events: ToolEventRecord[];
}

export type ApprovalDecisionKind = 'approved' | 'denied' | 'timed_out';

export interface ApprovalCallRecord {
  callId: string;
  name: string;
  arguments: string;
  decision?: ApprovalDecisionKind;
  reason?: string;
}

/** The calls of a model message that need a human decision before any tool runs. */
export interface ApprovalStepRecord {
  step: number;
  kind: 'approval';
  status: 'running' | 'completed';
  calls: ApprovalCallRecord[];
  /** requested events first (call order), then decided events as decisions come. */
  events: Array<{ type: 'requested' | 'decided'; callIndex: number }>;
  /** When undecided calls count as denied (ISO time). */
  deadline: string;
}

export type StepRecord = LlmStepRecord | ToolStepRecord | ApprovalStepRecord;

export interface ApprovalDecision {
  callId: string;
  approve: boolean;
  reason?: string;
}

export type RunStatus = 'running' | 'completed' | 'failed' | 'cancelled';

export interface RunError {
  code: string;
  message: string;
}

export interface RunState {
  runId: string;
  input: string;
  model: string;
  status: RunStatus;
  steps: StepRecord[];
  /** Model steps and tools steps run so far (steps.length). */
  stepCount: number;
  /**
   * Runs recorded before turnMessages() held the whole conversation here (the context given, then
   * the turn). Newer runs rebuild the turn from their steps instead of storing it a second time.
   */
  messages?: ChatMessage[];
  output?: string;
  usage: Usage;
  /** `usage` per model that answered (runs recorded before have none: all on the run's model). */
  modelUsage?: ModelUsage[];
  /** The run's token budget, when it has one (AgentTurnInput.maxTokens). */
  maxTokens?: number;
  error?: RunError;
  /** Step number of steps[0]: steps of earlier executions (segments) are not in this state. */
  firstStep?: number;
  /** Earlier executions of a run that continued as new. */
  segments?: ExecutionSegment[];
}

/**
 * What a run's workflow returns (and its failures carry) since histories are bounded: the state
 * without the steps' content, which stays where it was written once (the activities' results),
 * readable page by page with the runPage query. Results of older runs are whole RunStates.
 */
export interface RunSummary extends Omit<RunState, 'steps'> {
  steps?: undefined;
  /** Every execution of the run, this last one included. */
  segments: ExecutionSegment[];
  /** Session turns: the messages the turn added (see turnChars). */
  turn?: ChatMessage[];
  /** Cancelled runs: the text streamed before the cancel. */
  partial?: string;
  /**
   * Completed runs: this execution's last whole steps, as many as fit in tailBytes (all of a short
   * run's). Readers of a closed run take them from the result instead of a query, which a closed
   * execution answers only by replaying on a worker. Results recorded before have none.
   */
  tail?: StepRecord[];
}

export interface PendingApproval {
  step: number;
  callId: string;
  name: string;
  arguments: string;
  deadline: string;
}

/** One page of a run's steps as one execution holds them (the runPage query). */
export interface StepPageRequest {
  fromStep: number;
  /** The first step is a tools step: start at this call (the earlier ones came on a page before). */
  fromCall?: number;
  /** Content per page; a page holds at least one call or step. */
  maxBytes?: number;
  /** Also send the context the run was given (system prompt, earlier messages). */
  withContext?: boolean;
}

export interface StepPage {
  run: RunSummary;
  /** First step of this execution. */
  firstStep: number;
  steps: StepRecord[];
  /** steps[0] is a tools step given from this call on. */
  callsFrom?: number;
  /** More of this execution's steps, from here. */
  next?: { step: number; call?: number };
  context?: ChatMessage[];
  pendingApprovals: PendingApproval[];
}

export interface LlmStepInput {
  runId: string;
  step: number;
  model: string;
  /**
   * The whole conversation: runs recorded before bounded histories, and a run's first step when
   * its context is small. Otherwise the activity reads the conversation from the run's workflow
   * (runPage queries), reading only the steps its worker has not seen.
   */
  messages?: ChatMessage[];
  tools: string[];
  contextTokens?: number;
  /** A fallback model's activity: attempts of the models before it in this step (its attempts number on). */
  attemptBase?: number;
  /** A fallback model's activity: why the model before it was left, said by its first attempt's step.retrying. */
  retryReason?: string;
  /** Runs with maxTokens: the budget and the run's tokens before this step (for usage.updated's fraction). */
  budget?: { maxTokens: number; usedTokens: number };
}

export interface LlmStepResult {
  text: string;
  toolCalls: ToolCall[];
  usage?: Usage;
  finishReason: string;
  attempt: number;
  /** False when the endpoint refused streaming and a plain call was made. */
  streamed: boolean;
  context?: ContextTrimReport;
  /** From the final attempt's start on the worker to its first text (none: no text). */
  firstTokenMs?: number;
}

export interface ToolActivityInput {
  runId: string;
  step: number;
  callId: string;
  name: string;
  arguments: string;
  /** This call's place among the step's calls, for event positions (see event-position.ts). */
  callIndex: number;
  callCount: number;
  /** The most this call's result may take (the step's share); the worker may cap it lower. */
  maxResultBytes?: number;
  /** Who owns the run: cached tool results are never shared between tenants. */
  tenant?: string;
  /** false: the run opted out of cached tool results (it neither reads nor writes them). */
  cache?: boolean;
}

export type ToolActivityResult =
  | ({ ok: true; result: string; attempts: number; truncated?: TruncationInfo; cached?: true } & AnnouncedEstimate & StreamedOutput)
  | ({ ok: false; error: string; attempts: number } & AnnouncedEstimate & StreamedOutput);

/** What the attempt that returned streamed with context.output(), kept for late readers. */
export interface StreamedOutput {
  output?: string;
  outputTruncated?: TruncationInfo;
}

/** What the call's tool.started said of its expected duration (the tool's recent p50), if anything. */
export interface AnnouncedEstimate {
  estimatedMs?: number;
  estimateSamples?: number;
}

/**
 * The messages a turn added to the conversation, rebuilt from its state: the user's input, then
 * for each finished step the assistant's message (model step) or the tool results (tools step).
 * This is what the model is sent after the context, and what a session keeps of the turn; the
 * workflow does not store the conversation a second time. Pure and deterministic (workflow code).
 */
export function turnMessages(state: Pick<RunState, 'input' | 'steps'>): ChatMessage[] {
  return [{ role: 'user', content: state.input }, ...state.steps.flatMap(stepMessages)];
}

/** The messages one finished step adds to the conversation (none for approval steps). */
export function stepMessages(step: StepRecord): ChatMessage[] {
  if (step.status !== 'completed') return [];
  if (step.kind === 'llm') {
    const toolCalls = step.toolCalls ?? [];
    return [
      {
        role: 'assistant',
        content: step.text || null,
        ...(toolCalls.length > 0 ? { tool_calls: toolCalls.map((call) => ({ id: call.id, type: 'function' as const, function: { name: call.name, arguments: call.arguments } })) } : {}),
      },
    ];
  }
  if (step.kind === 'tools') {
    return step.calls.map((call) => ({ role: 'tool' as const, tool_call_id: call.callId, content: call.status === 'completed' ? (call.result ?? '') : `Error: ${call.error}` }));
  }
  return [];
}
