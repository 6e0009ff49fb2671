import type { ActivityInterceptorsFactory } from '@temporalio/worker';

// Every log line of an activity (the SDK's and the activity's own, through its context logger)
// names what it works on: the run's step, and for a tool call its callId and tool. Taken from
// the activity's input as it starts; `runId` and `attempt` come from the SDK's own attributes
// (temporal-logger.ts renames them).

interface StepInput {
  step?: unknown;
  callId?: unknown;
  name?: unknown;
  model?: unknown;
}

export const activityLogContext: ActivityInterceptorsFactory = () => {
  let context: Record<string, unknown> = {};
  return {
    inbound: {
      execute: (input, next) => {
        const first = (input.args[0] ?? {}) as StepInput;
        context = {
          ...(typeof first.step === 'number' ? { step: first.step } : {}),
          ...(typeof first.callId === 'string' ? { callId: first.callId } : {}),
          ...(typeof first.callId === 'string' && typeof first.name === 'string' ? { tool: first.name } : {}),
          ...(typeof first.callId !== 'string' && typeof first.model === 'string' ? { model: first.model } : {}),
        };
        return next(input);
      },
    },
    outbound: {
      getLogAttributes: (attributes, next) => next({ ...attributes, ...context }),
    },
  };
};
