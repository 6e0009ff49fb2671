import type { StepPage, StepPageRequest, StepRecord, ToolCallRecord } from './run-types';

// A run's steps are read in pages, never whole: Temporal refuses payloads (query results too)
// over 2 MB and warns from 512 KB, and a long run's steps hold megabytes of tool results. A page
// holds whole steps, except a tools step too big for one page, which is split between its calls.
// Pure and deterministic: the workflow's query handler and the readers both use it.

export const defaultPageBytes = 256 * 1024;

/** A completed run's result repeats its last steps up to this size (RunSummary.tail). */
export const tailBytes = 64 * 1024;

/** The last whole steps of `steps` whose sizes fit in `budget` together (in order). */
export function tailOfSteps(steps: StepRecord[], budget = tailBytes): StepRecord[] {
  let used = 0;
  let start = steps.length;
  while (start > 0 && used + stepSize(steps[start - 1]!) <= budget) used += stepSize(steps[--start]!);
  return steps.slice(start);
}

/** About what a call adds to a page (its strings dominate the JSON). */
function callSize(call: ToolCallRecord): number {
  return 200 + call.arguments.length + (call.result?.length ?? 0) + (call.error?.length ?? 0) + (call.output?.length ?? 0);
}

const toolStepOverhead = (step: Extract<StepRecord, { kind: 'tools' }>) => 200 + step.events.length * 30;

export function stepSize(step: StepRecord): number {
  if (step.kind === 'llm') {
    const calls = (step.toolCalls ?? []).reduce((sum, call) => sum + 100 + call.arguments.length, 0);
    return 300 + (step.text?.length ?? 0) + (step.partialText?.length ?? 0) + calls;
  }
  if (step.kind === 'tools') return toolStepOverhead(step) + step.calls.reduce((sum, call) => sum + callSize(call), 0);
  return 200 + step.calls.reduce((sum, call) => sum + 200 + call.arguments.length + (call.reason?.length ?? 0), 0);
}

/** The page of `steps` (the first of which is step `firstStep`) that the request asks for. */
export function pageOfSteps(steps: StepRecord[], firstStep: number, request: StepPageRequest): Pick<StepPage, 'steps' | 'callsFrom' | 'next'> {
  const budget = Math.max(1024, request.maxBytes ?? defaultPageBytes);
  const out: StepRecord[] = [];
  let used = 0;
  let callsFrom: number | undefined;
  let index = Math.max(0, request.fromStep - firstStep);
  let fromCall = request.fromStep >= firstStep ? Math.max(0, request.fromCall ?? 0) : 0;
  while (index < steps.length) {
    const step = steps[index]!;
    if (step.kind === 'tools' && (fromCall > 0 || used + stepSize(step) > budget)) {
      // As many calls as fit, and at least one on a page.
      let end = fromCall;
      let size = toolStepOverhead(step);
      while (end < step.calls.length) {
        const more = callSize(step.calls[end]!);
        if (used + size + more > budget && !(out.length === 0 && end === fromCall)) break;
        size += more;
        end++;
      }
      if (end === fromCall && out.length > 0) return { steps: out, ...(callsFrom !== undefined ? { callsFrom } : {}), next: { step: step.step, ...(fromCall > 0 ? { call: fromCall } : {}) } };
      out.push({ ...step, calls: step.calls.slice(fromCall, end) });
      if (fromCall > 0) callsFrom = fromCall;
      used += size;
      if (end < step.calls.length) return { steps: out, ...(callsFrom !== undefined ? { callsFrom } : {}), next: { step: step.step, call: end } };
      fromCall = 0;
      index++;
      continue;
    }
    const size = stepSize(step);
    if (out.length > 0 && used + size > budget) return { steps: out, ...(callsFrom !== undefined ? { callsFrom } : {}), next: { step: step.step } };
    out.push(step);
    used += size;
    index++;
  }
  return { steps: out, ...(callsFrom !== undefined ? { callsFrom } : {}) };
}

/** Adds a page to the steps read so far; a page that continues a split tools step joins it. */
export function appendPage(into: StepRecord[], page: Pick<StepPage, 'steps' | 'callsFrom'>): void {
  const [first, ...rest] = page.steps;
  if (!first) return;
  if (page.callsFrom !== undefined && page.callsFrom > 0) {
    const previous = into.at(-1);
    if (previous?.kind !== 'tools' || first.kind !== 'tools' || previous.step !== first.step || previous.calls.length !== page.callsFrom) {
      throw new Error(`a page continuing step ${first.step} from call ${page.callsFrom} does not follow the steps read`);
    }
    into[into.length - 1] = { ...first, calls: [...previous.calls, ...first.calls] };
  } else into.push(first);
  into.push(...rest);
}
