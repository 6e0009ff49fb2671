import type { RunError, Usage } from './run-types';

// The SSE protocol: one discriminated union on `event`. Every event's data carries runId and step.
// Ids are positions in the run (see event-id.ts), not counters of a connection.

interface Base {
  runId: string;
  step: number;
}

export type RunEvent =
  | { id: string; event: 'run.started'; data: Base & { input: string; model: string } }
  | { id: string; event: 'step.started'; data: Base & { kind: 'llm' | 'tools' } }
  | { id: string; event: 'text.delta'; data: Base & { attempt: number; delta: string } }
  | { id: string; event: 'step.retrying'; data: Base & { attempt: number; reason: string } }
  | {
      id: string;
      event: 'tool.started';
      data: Base & { callId: string; name: string; arguments: string };
    }
  | {
      id: string;
      event: 'tool.completed';
      data: Base & { callId: string; name: string; result: string; attempts: number };
    }
  | {
      id: string;
      event: 'tool.failed';
      data: Base & { callId: string; name: string; error: string; attempts: number };
    }
  | { id: string; event: 'step.completed'; data: Base & { kind: 'llm' | 'tools'; usage?: Usage } }
  | { id: string; event: 'run.completed'; data: Base & { output: string; usage: Usage } }
  | { id: string; event: 'run.failed'; data: Base & { error: RunError; usage: Usage } }
  | { id: string; event: 'run.cancelled'; data: Base & { partial: string; usage: Usage } };

export type RunEventName = RunEvent['event'];

export const terminalEvents: ReadonlySet<RunEventName> = new Set([
  'run.completed',
  'run.failed',
  'run.cancelled',
]);
