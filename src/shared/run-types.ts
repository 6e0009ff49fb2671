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
  /** How long a call that needs approval waits for a decision (default 24 h). */
  approvalTimeoutMs?: number;
  maxSteps: number;
}

export interface LlmStepRecord {
  step: number;
  kind: 'llm';
  status: 'running' | 'completed';
  /** Attempt whose text is final (set when completed). */
  attempt?: number;
  text?: string;
  toolCalls?: ToolCall[];
  usage?: Usage;
  finishReason?: string;
  /** The text streamed before the run was cancelled in this step. */
  partialText?: string;
}

export interface ToolCallRecord {
  callId: string;
  name: string;
  arguments: string;
  status: 'pending' | 'running' | 'completed' | 'failed';
  result?: string;
  error?: string;
  attempts?: number;
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
  error?: RunError;
}

export interface LlmStepInput {
  runId: string;
  step: number;
  model: string;
  messages: ChatMessage[];
  tools: string[];
}

export interface LlmStepResult {
  text: string;
  toolCalls: ToolCall[];
  usage?: Usage;
  finishReason: string;
  attempt: number;
  /** False when the endpoint refused streaming and a plain call was made. */
  streamed: boolean;
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
}

export type ToolActivityResult =
  | { ok: true; result: string; attempts: number }
  | { ok: false; error: string; attempts: number };

/**
 * The messages a turn added to the conversation, rebuilt from its state: the user's input, then
 * for each finished step the assistant's message (model step) or the tool results (tools step).
 * This is what the model is sent after the context, and what a session keeps of the turn; the
 * workflow does not store the conversation a second time. Pure and deterministic (workflow code).
 */
export function turnMessages(state: Pick<RunState, 'input' | 'steps'>): ChatMessage[] {
  const messages: ChatMessage[] = [{ role: 'user', content: state.input }];
  for (const step of state.steps) {
    if (step.status !== 'completed') continue;
    if (step.kind === 'llm') {
      const toolCalls = step.toolCalls ?? [];
      messages.push({
        role: 'assistant',
        content: step.text || null,
        ...(toolCalls.length > 0 ? { tool_calls: toolCalls.map((call) => ({ id: call.id, type: 'function' as const, function: { name: call.name, arguments: call.arguments } })) } : {}),
      });
    } else if (step.kind === 'tools') {
      for (const call of step.calls) {
        messages.push({ role: 'tool', tool_call_id: call.callId, content: call.status === 'completed' ? (call.result ?? '') : `Error: ${call.error}` });
      }
    }
  }
  return messages;
}
