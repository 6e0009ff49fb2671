import { FINISHED } from '../shared/event-position';
import type { StreamEvent } from '../shared/events';
import type { ApprovalStepRecord, LlmStepRecord, ToolStepRecord } from '../shared/run-types';
import type { RunView } from './run-reader';

// A run's events rebuilt from its durable state, in order, with their positions. The same
// acceptance rule that orders live events (event-position.ts) keeps those a client lacks; a
// step's text comes as one delta that the rule cuts to what the client has not seen. The state is
// a window of the run's steps: the run's start comes with a window from step 1, its end with the
// window that reaches its last step.

/** The text of the completed model steps, and what the cancelled one had streamed. */
function partialTranscript(state: RunView): string {
  if (typeof state.partial === 'string') return state.partial;
  return state.steps
    .filter((step): step is LlmStepRecord => step.kind === 'llm')
    .map((step) => (step.status === 'completed' ? (step.text ?? '') : (step.partialText ?? '')))
    .join('');
}

export function durableEvents(state: RunView): StreamEvent[] {
  const { runId } = state;
  const out: StreamEvent[] = [];
  if (state.fromStep <= 1) out.push({ position: { kind: 'run-start' }, event: 'run.started', data: { runId, step: 0, input: state.input, model: state.model } });
  for (const record of state.steps) {
    const { step } = record;
    out.push({ position: { kind: 'step-start', step }, event: 'step.started', data: { runId, step, kind: record.kind } });
    if (record.kind === 'llm') out.push(...llmEvents(runId, record));
    else if (record.kind === 'tools') out.push(...toolEvents(runId, record));
    else out.push(...approvalEvents(runId, record));
    if (record.status === 'completed') {
      out.push({
        position: { kind: 'step-done', step },
        event: 'step.completed',
        data: {
          runId,
          step,
          kind: record.kind,
          ...(record.kind === 'llm' && record.usage ? { usage: record.usage } : {}),
          ...(record.kind === 'llm' && record.firstTokenMs !== undefined ? { firstTokenMs: record.firstTokenMs } : {}),
        },
      });
    }
  }

  if (state.nextStep !== undefined) return out;
  const step = state.stepCount;
  const end = { kind: 'run-end' } as const;
  if (state.status === 'completed') {
    out.push({ position: end, event: 'run.completed', data: { runId, step, output: state.output ?? '', usage: state.usage } });
  } else if (state.status === 'failed') {
    const error = state.error ?? { code: 'failed', message: 'the run failed' };
    out.push({ position: end, event: 'run.failed', data: { runId, step, error, usage: state.usage } });
  } else if (state.status === 'cancelled') {
    out.push({ position: end, event: 'run.cancelled', data: { runId, step, partial: partialTranscript(state), usage: state.usage } });
  }
  return out;
}

function llmEvents(runId: string, record: LlmStepRecord): StreamEvent[] {
  if (record.status !== 'completed') return [];
  const { step } = record;
  const attempt = record.attempt ?? 1;
  const out: StreamEvent[] = [];
  if (attempt > 1) {
    out.push({
      position: { kind: 'retry', step, attempt },
      event: 'step.retrying',
      // A fallback's first attempt says why the step left its model, live and rebuilt alike.
      data: { runId, step, attempt, reason: record.retryReason ?? `attempt ${attempt - 1} failed; discard this step's partial text` },
    });
  }
  if (record.context) {
    out.push({ position: { kind: 'context', step, attempt }, event: 'context.trimmed', data: { runId, step, attempt, ...record.context } });
  }
  const text = record.text ?? '';
  if (text) {
    out.push({ position: { kind: 'text', step, attempt, start: 0, end: text.length }, event: 'text.delta', data: { runId, step, attempt, delta: text } });
  }
  return out;
}

function toolEvents(runId: string, record: ToolStepRecord): StreamEvent[] {
  const { step } = record;
  const calls = record.calls.length;
  return record.events.flatMap((event): StreamEvent[] => {
    const call = record.calls[event.callIndex]!;
    const base = { runId, step, callId: call.callId, name: call.name };
    const at = (mark: number) => ({ kind: 'tool' as const, step, call: event.callIndex, calls, mark });
    if (event.type === 'started') {
      const estimate = call.estimatedMs !== undefined ? { estimatedMs: call.estimatedMs, estimateSamples: call.estimateSamples } : {};
      return [{ position: at(1), event: 'tool.started', data: { ...base, arguments: call.arguments, ...estimate } }];
    }
    // The output the call streamed comes as one delta before its end; a client that has part of
    // it gets the rest (event-position.ts cuts it).
    const out: StreamEvent[] = [];
    const attempt = call.attempts ?? 1;
    const output = call.output ?? '';
    if (output) {
      out.push({
        position: { kind: 'tool-output', step, call: event.callIndex, calls, attempt, start: 0, end: output.length },
        event: 'tool.output.delta',
        data: { ...base, attempt, delta: output },
      });
    }
    const end = { ...at(FINISHED), ...(output ? { output: { attempt, length: output.length } } : {}) };
    const outputTruncated = call.outputTruncated ? { outputTruncated: call.outputTruncated } : {};
    if (call.status === 'completed') {
      out.push({
        position: end,
        event: 'tool.completed',
        data: {
          ...base,
          result: call.result ?? '',
          attempts: attempt,
          ...(call.truncated ? { truncated: call.truncated } : {}),
          ...(call.cached ? { cached: true as const } : {}),
          ...outputTruncated,
        },
      });
    } else out.push({ position: end, event: 'tool.failed', data: { ...base, error: call.error ?? 'failed', attempts: attempt, ...outputTruncated } });
    return out;
  });
}

function approvalEvents(runId: string, record: ApprovalStepRecord): StreamEvent[] {
  const { step } = record;
  const calls = record.calls.length;
  return record.events.map((event): StreamEvent => {
    const call = record.calls[event.callIndex]!;
    const base = { runId, step, callId: call.callId, name: call.name };
    if (event.type === 'requested') {
      return { position: { kind: 'tool', step, call: event.callIndex, calls, mark: 1 }, event: 'approval.requested', data: { ...base, arguments: call.arguments } };
    }
    return {
      position: { kind: 'tool', step, call: event.callIndex, calls, mark: FINISHED },
      event: 'approval.decided',
      data: { ...base, decision: call.decision ?? 'timed_out', ...(call.reason ? { reason: call.reason } : {}) },
    };
  });
}
