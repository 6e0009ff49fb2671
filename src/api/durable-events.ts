import type { RunEvent } from '../shared/events';
import {
  comparePositions,
  positionOf,
  retryingId,
  runEndId,
  runStartedId,
  stepCompletedId,
  stepStartedId,
  textId,
  toolEventId,
  type Position,
} from '../shared/event-id';
import type { LlmStepRecord, RunState, ToolStepRecord } from '../shared/run-types';

// Rebuilds a run's events from its durable state, with the ids the live stream used, and keeps
// those after `cursor`. A text the client saw part of continues at its offset, so a resumed
// stream neither repeats nor skips a character, whatever the live chunking was.

function completedText(state: RunState): string {
  return state.steps
    .filter((step): step is LlmStepRecord => step.kind === 'llm' && step.status === 'completed')
    .map((step) => step.text ?? '')
    .join('');
}

export function durableEventsAfter(state: RunState, cursor: Position): RunEvent[] {
  const { runId } = state;
  const out: RunEvent[] = [];
  const push = (event: RunEvent) => {
    if (comparePositions(positionOf(event.id), cursor) > 0) out.push(event);
  };

  push({ id: runStartedId, event: 'run.started', data: { runId, step: 0, input: state.input, model: state.model } });
  for (const record of state.steps) {
    const { step } = record;
    push({ id: stepStartedId(step), event: 'step.started', data: { runId, step, kind: record.kind } });
    if (record.kind === 'llm') llmEvents(runId, record, cursor, push, out);
    else toolEvents(runId, record, push);
    if (record.status === 'completed') {
      push({
        id: stepCompletedId(step),
        event: 'step.completed',
        data: { runId, step, kind: record.kind, ...(record.kind === 'llm' && record.usage ? { usage: record.usage } : {}) },
      });
    }
  }

  const step = state.steps.length;
  if (state.status === 'completed') {
    push({ id: runEndId, event: 'run.completed', data: { runId, step, output: state.output ?? '', usage: state.usage } });
  } else if (state.status === 'failed') {
    const error = state.error ?? { code: 'failed', message: 'the run failed' };
    push({ id: runEndId, event: 'run.failed', data: { runId, step, error, usage: state.usage } });
  } else if (state.status === 'cancelled') {
    push({ id: runEndId, event: 'run.cancelled', data: { runId, step, partial: completedText(state), usage: state.usage } });
  }
  return out;
}

function llmEvents(runId: string, record: LlmStepRecord, cursor: Position, push: (event: RunEvent) => void, out: RunEvent[]) {
  if (record.status !== 'completed') return;
  const { step } = record;
  const attempt = record.attempt ?? 1;
  if (attempt > 1) {
    push({
      id: retryingId(step, attempt),
      event: 'step.retrying',
      data: { runId, step, attempt, reason: `attempt ${attempt - 1} failed; discard this step's partial text` },
    });
  }
  const text = record.text ?? '';
  if (!text) return;
  const id = textId(step, attempt, text.length);
  const [cursorStep, cursorAttempt, cursorOffset] = cursor;
  if (cursorStep === step && cursorAttempt === attempt && cursorOffset > 0 && cursorOffset < text.length) {
    out.push({ id, event: 'text.delta', data: { runId, step, attempt, delta: text.slice(cursorOffset) } });
  } else {
    push({ id, event: 'text.delta', data: { runId, step, attempt, delta: text } });
  }
}

function toolEvents(runId: string, record: ToolStepRecord, push: (event: RunEvent) => void) {
  const { step } = record;
  record.events.forEach((event, index) => {
    const call = record.calls[event.callIndex]!;
    const id = toolEventId(step, index + 1);
    const base = { runId, step, callId: call.callId, name: call.name };
    if (event.type === 'started') {
      push({ id, event: 'tool.started', data: { ...base, arguments: call.arguments } });
    } else if (call.status === 'completed') {
      push({ id, event: 'tool.completed', data: { ...base, result: call.result ?? '', attempts: call.attempts ?? 1 } });
    } else {
      push({ id, event: 'tool.failed', data: { ...base, error: call.error ?? 'failed', attempts: call.attempts ?? 1 } });
    }
  });
}
