import type { UIMessage, UIMessageChunk } from 'ai';
import type { RunEvent, ToolProgress } from '../shared/events';
import { addCosts, type Cost } from '../shared/prices';
import { addUsage, emptyUsage, type ApprovalDecisionKind, type ContextTrimReport, type RunError, type Usage } from '../shared/run-types';

// A run's events as the AI SDK's UI message stream (what `useChat` reads): one assistant message
// per run, its id the run id, so a resumed stream (a replay from the run's start) replaces the
// message it continues instead of adding one.
//
// - One UI step (`start-step`) per model step, with the tool calls it asked for and their results.
// - `step.retrying`: the attempt's partial text is discarded with `reset-step` (the step's parts
//   go, the next attempt's text comes as a new text part). Nothing is held back to make retries
//   invisible: no token waits for the end of its step.
// - Tool progress, tool output and a queued run are transient data parts (`onData`): live-only
//   news that a replay from durable state would not have. Approvals are data parts kept in the
//   message (id = call id: the decision updates the request in place).
// - Usage and cost go in the message metadata; exact per step, estimated while a step streams.

export interface ChatMessageMetadata {
  runId: string;
  sessionId: string;
  chatId: string;
  model?: string;
  status?: 'queued' | 'running' | 'completed' | 'failed' | 'cancelled';
  /** The run's tokens so far: the finished model steps', plus the streaming step's estimate. */
  usage?: Usage;
  /** True while `usage` includes a streaming step's estimate. */
  estimated?: boolean;
  cost?: Cost;
  maxTokens?: number;
  error?: RunError;
}

export type ChatDataTypes = {
  'tool-progress': { callId: string; name: string; progress: ToolProgress; etaMs?: number };
  'tool-output': { callId: string; name: string; attempt: number; delta: string };
  approval: { callId: string; name: string; input: unknown; status: 'requested' | ApprovalDecisionKind; reason?: string; decide: string };
  'context-trimmed': ContextTrimReport & { step: number };
  queued: { reason: string };
};

export type ChatUIMessage = UIMessage<ChatMessageMetadata, ChatDataTypes>;
export type ChatChunk = UIMessageChunk<ChatMessageMetadata, ChatDataTypes>;

/** Tool arguments as an object when they are JSON (they are the model's text: not always). */
function parseInput(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

const addCost = (total: Cost | undefined, more: Cost | undefined) => addCosts([total, more]);

export class ChatChunks {
  /** The terminal event has been translated: the UI message is finished. */
  finished = false;
  private openText?: { id: string; attempt: number };
  private stepOpen = false;
  private status: ChatMessageMetadata['status'] = 'running';
  /** Exact usage and cost of the model steps that completed (cost: while every one had a price). */
  private usage: Usage = emptyUsage();
  private cost: Cost | undefined = { currency: 'USD', input: 0, output: 0, total: 0 };
  /** Inputs of the calls waiting for a decision: a data part's data is replaced whole. */
  private readonly approvalInputs = new Map<string, unknown>();

  constructor(private readonly ids: { runId: string; sessionId: string; chatId: string }) {}

  start(): ChatChunk[] {
    return [{ type: 'start', messageId: this.ids.runId, messageMetadata: { ...this.ids, status: this.status } }];
  }

  push(event: RunEvent): ChatChunk[] {
    const out: ChatChunk[] = [];
    const { runId } = this.ids;
    switch (event.event) {
      case 'run.started':
        out.push({ type: 'message-metadata', messageMetadata: { ...this.ids, model: event.data.model } });
        break;
      case 'run.queued':
        this.status = 'queued';
        out.push({ type: 'message-metadata', messageMetadata: { ...this.ids, status: 'queued' } }, { type: 'data-queued', data: { reason: event.data.reason }, transient: true });
        break;
      case 'step.started':
        if (this.status === 'queued') {
          this.status = 'running';
          out.push({ type: 'message-metadata', messageMetadata: { ...this.ids, status: 'running' } });
        }
        if (event.data.kind === 'llm') {
          if (this.stepOpen) out.push({ type: 'finish-step' });
          out.push({ type: 'start-step' });
          this.stepOpen = true;
        }
        break;
      case 'context.trimmed': {
        const { runId: _runId, attempt: _attempt, ...report } = event.data;
        out.push({ type: 'data-context-trimmed', data: report });
        break;
      }
      case 'text.delta': {
        const { step, attempt, delta } = event.data;
        if (this.openText && this.openText.attempt !== attempt) this.discardAttempt(out);
        if (!this.openText) {
          this.openText = { id: `${runId}.${step}.${attempt}`, attempt };
          out.push({ type: 'text-start', id: this.openText.id });
        }
        out.push({ type: 'text-delta', id: this.openText.id, delta });
        break;
      }
      case 'step.retrying':
        this.discardAttempt(out);
        break;
      case 'usage.updated': {
        const usage = addUsage(this.usage, event.data.usage);
        const cost = addCost(this.cost, event.data.cost);
        out.push({ type: 'message-metadata', messageMetadata: { ...this.ids, usage, estimated: true, ...(cost ? { cost } : {}), ...(event.data.maxTokens ? { maxTokens: event.data.maxTokens } : {}) } });
        break;
      }
      case 'step.completed':
        this.closeText(out);
        if (event.data.usage) {
          this.usage = addUsage(this.usage, event.data.usage);
          this.cost = addCost(this.cost, event.data.cost);
          out.push({ type: 'message-metadata', messageMetadata: { ...this.ids, usage: this.usage, estimated: false, ...(this.cost ? { cost: this.cost } : {}) } });
        }
        break;
      case 'tool.started':
        out.push({ type: 'tool-input-available', toolCallId: event.data.callId, toolName: event.data.name, input: parseInput(event.data.arguments) });
        break;
      case 'tool.progress': {
        const { callId, name, progress, etaMs } = event.data;
        out.push({ type: 'data-tool-progress', id: callId, data: { callId, name, progress, ...(etaMs !== undefined ? { etaMs } : {}) }, transient: true });
        break;
      }
      case 'tool.output.delta': {
        const { callId, name, attempt, delta } = event.data;
        out.push({ type: 'data-tool-output', id: callId, data: { callId, name, attempt, delta }, transient: true });
        break;
      }
      case 'tool.completed': {
        const { callId, result, attempts, cached, truncated } = event.data;
        const toolMetadata = { attempts, ...(cached ? { cached } : {}), ...(truncated ? { truncated: { ...truncated } } : {}) };
        out.push({ type: 'tool-output-available', toolCallId: callId, output: result, toolMetadata });
        break;
      }
      case 'tool.failed':
        out.push({ type: 'tool-output-error', toolCallId: event.data.callId, errorText: event.data.error, toolMetadata: { attempts: event.data.attempts } });
        break;
      case 'approval.requested': {
        const { callId, name } = event.data;
        const decide = `/v1/runs/${runId}/approvals/${encodeURIComponent(callId)}`;
        const input = parseInput(event.data.arguments);
        this.approvalInputs.set(callId, input);
        out.push({ type: 'data-approval', id: callId, data: { callId, name, input, status: 'requested', decide } });
        break;
      }
      case 'approval.decided': {
        const { callId, name, decision, reason } = event.data;
        const decide = `/v1/runs/${runId}/approvals/${encodeURIComponent(callId)}`;
        const input = this.approvalInputs.get(callId);
        this.approvalInputs.delete(callId);
        out.push({ type: 'data-approval', id: callId, data: { callId, name, input, status: decision, ...(reason ? { reason } : {}), decide } });
        break;
      }
      case 'run.completed':
        this.end(out, 'completed', event.data.usage, event.data.cost);
        out.push({ type: 'finish', finishReason: 'stop' });
        break;
      case 'run.failed':
        this.end(out, 'failed', event.data.usage, event.data.cost, event.data.error);
        // useChat stops reading at an error chunk: the metadata above and the step's end go first.
        out.push({ type: 'error', errorText: `${event.data.error.code}: ${event.data.error.message}` }, { type: 'finish', finishReason: 'error' });
        break;
      case 'run.cancelled':
        this.end(out, 'cancelled', event.data.usage, event.data.cost);
        out.push({ type: 'finish', finishReason: 'other' });
        break;
    }
    return out;
  }

  private closeText(out: ChatChunk[]) {
    if (!this.openText) return;
    out.push({ type: 'text-end', id: this.openText.id });
    this.openText = undefined;
  }

  /** A failed attempt's text goes: the step's parts are reset, the next attempt starts afresh. */
  private discardAttempt(out: ChatChunk[]) {
    this.closeText(out);
    out.push({ type: 'reset-step' });
  }

  private end(out: ChatChunk[], status: NonNullable<ChatMessageMetadata['status']>, usage: Usage, cost: Cost | undefined, error?: RunError) {
    this.closeText(out);
    if (this.stepOpen) out.push({ type: 'finish-step' });
    this.stepOpen = false;
    this.finished = true;
    out.push({ type: 'message-metadata', messageMetadata: { ...this.ids, status, usage, estimated: false, ...(cost ? { cost } : {}), ...(error ? { error } : {}) } });
  }
}
