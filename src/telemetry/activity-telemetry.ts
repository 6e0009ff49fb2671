// What the activities tell observers about their work: each model call (its first token, every
// text delta, how it ended) and each tool call. Metrics (metrics.ts) and traces (tracing.ts)
// are observers; with neither, nothing is called. Observers are called synchronously from the
// activity's own code (within its async context, so a span started here is a child of the
// activity's span) and must not throw or block: they run on the path of every token.

export interface ModelCallInfo {
  runId: string;
  step: number;
  /** The attempt as events number it (on across fallback models). */
  attempt: number;
  /** Temporal's attempt of this activity (1: first). */
  activityAttempt: number;
  /** The model's own name (provider prefix and endpoint removed). */
  model: string;
  /** openai or anthropic. */
  provider: string;
  /** The first attempt of a fallback model (the model before it stayed unavailable). */
  fallback: boolean;
  /** When the activity started (Date.now()): the step's firstTokenMs counts from here. */
  startedAt: number;
}

export type ModelCallEnd =
  | {
      ok: true;
      inputTokens?: number;
      outputTokens?: number;
      finishReason: string;
      firstTokenMs?: number;
      toolCalls: number;
    }
  | {
      ok: false;
      /** The failure's type (ModelUnavailable, ModelRequestRejected, ContextWindowExceeded, …) or `cancelled`. */
      errorType: string;
      message?: string;
    };

export interface ModelCallObserver {
  /** Each text delta as it is published (the first is the first token). */
  text(delta: string): void;
  end(outcome: ModelCallEnd): void;
}

export interface ToolCallInfo {
  runId: string;
  step: number;
  callId: string;
  tool: string;
  /** Temporal's attempt of this call (1: first). */
  attempt: number;
}

export interface ToolCallEnd {
  /** completed, failed (a result the model reads), error (thrown: Temporal retries), cancelled. */
  outcome: 'completed' | 'failed' | 'error' | 'cancelled';
  cached: boolean;
  error?: string;
}

export interface ToolCallObserver {
  end(outcome: ToolCallEnd): void;
}

export interface ActivityTelemetry {
  modelCall(info: ModelCallInfo): ModelCallObserver;
  toolCall(info: ToolCallInfo): ToolCallObserver;
}

const quietModelCall: ModelCallObserver = { text: () => undefined, end: () => undefined };
const quietToolCall: ToolCallObserver = { end: () => undefined };

/** No observers: what activities use when none are configured. */
export const noTelemetry: ActivityTelemetry = { modelCall: () => quietModelCall, toolCall: () => quietToolCall };

/** Several observers as one (the configured ones only; one is returned as itself). */
export function combineTelemetry(...observers: Array<ActivityTelemetry | undefined>): ActivityTelemetry {
  const present = observers.filter((observer): observer is ActivityTelemetry => observer !== undefined);
  if (present.length === 0) return noTelemetry;
  if (present.length === 1) return present[0]!;
  return {
    modelCall(info) {
      const calls = present.map((observer) => observer.modelCall(info));
      return {
        text: (delta) => {
          for (const call of calls) call.text(delta);
        },
        end: (outcome) => {
          for (const call of calls) call.end(outcome);
        },
      };
    },
    toolCall(info) {
      const calls = present.map((observer) => observer.toolCall(info));
      return {
        end: (outcome) => {
          for (const call of calls) call.end(outcome);
        },
      };
    },
  };
}
