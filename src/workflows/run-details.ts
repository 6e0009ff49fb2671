import { setCurrentDetails } from '@temporalio/workflow';
import type { RunState, StepRecord, ToolCall } from '../shared/run-types';
import { fitJsonBytes, uiTextBytes } from '../shared/text-fit';

// What the Temporal Web UI says about a run while it runs: the workflow's current details (what
// it does now: the step, the tools running, the calls waiting for a human) and each activity's
// summary (`model step 2: gpt-4o-mini`, `calculator: 12*7`). Neither is a command's content that
// replay checks, nor an event: they only describe.

const argumentChars = 80;

/** A call's arguments in a line: a lone argument's value, or the JSON, cut short. */
export function argumentsPreview(argumentsJson: string): string {
  let shown = argumentsJson;
  try {
    const parsed: unknown = JSON.parse(argumentsJson);
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) {
      const values = Object.values(parsed);
      const only = values.length === 1 ? values[0] : undefined;
      shown = typeof only === 'string' || typeof only === 'number' || typeof only === 'boolean' ? String(only) : JSON.stringify(parsed);
    }
  } catch {
    // shown as the model wrote it
  }
  shown = shown.replace(/\s+/g, ' ').trim();
  return shown.length > argumentChars ? `${shown.slice(0, argumentChars - 1)}…` : shown;
}

export const toolCallSummary = (call: Pick<ToolCall, 'name' | 'arguments'>) => fitJsonBytes(`${call.name}: ${argumentsPreview(call.arguments)}`, uiTextBytes.summary);

export const modelStepSummary = (step: number, model: string) => fitJsonBytes(`model step ${step}: ${model}`, uiTextBytes.summary);

function describeStep(state: RunState, step: StepRecord): string {
  if (step.kind === 'llm') return `**Step ${step.step}**: model \`${step.model ?? state.model}\` ${step.status === 'running' ? 'is answering' : 'answered'}`;
  if (step.kind === 'tools') {
    const done = step.calls.filter((call) => call.status === 'completed' || call.status === 'failed').length;
    const calls = step.calls.map((call) => `${toolCallSummary(call)} (${call.status === 'completed' ? 'done' : call.status})`);
    return `**Step ${step.step}**: tools, ${done} of ${step.calls.length} done: ${calls.join(' · ')}`;
  }
  const waiting = step.calls.filter((call) => !call.decision);
  if (step.status === 'running' && waiting.length > 0) {
    return `**Step ${step.step}**: waiting for approval until ${step.deadline}: ${waiting.map((call) => `${toolCallSummary(call)} (\`${call.callId}\`)`).join(' · ')}`;
  }
  return `**Step ${step.step}**: approvals decided: ${step.calls.map((call) => `${call.name} ${call.decision ?? 'pending'}`).join(' · ')}`;
}

/** The run as it is now, in a line or two of Temporal markdown. */
export function describeRun(state: RunState): string {
  const tokens = `${state.usage.totalTokens} tokens`;
  if (state.status === 'completed') return `Completed in ${state.stepCount} steps, ${tokens}`;
  if (state.status === 'failed') return `Failed at step ${state.stepCount}: ${state.error?.code ?? 'failed'}`;
  if (state.status === 'cancelled') return `Cancelled at step ${state.stepCount}`;
  const current = state.steps.at(-1);
  return current ? `${describeStep(state, current)} · ${tokens} so far` : `Starting, model \`${state.model}\``;
}

/** Says what the run does now, in the Web UI (the workflow's current details). */
export function showProgress(state: RunState): void {
  setCurrentDetails(fitJsonBytes(describeRun(state), uiTextBytes.currentDetails));
}
