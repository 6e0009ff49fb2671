import { proxySinks, workflowInfo, type Sinks } from '@temporalio/workflow';

// What a run tells the worker's metrics (src/telemetry/metrics.ts) as it starts and ends: a sink
// call, not a command. Nothing is said while a run is replayed (a worker that takes over a run,
// or a replay tool without these sinks), so a run is counted once whichever worker finishes it;
// histories recorded before replay the same.

export interface RunEnd {
  outcome: 'completed' | 'failed' | 'cancelled' | 'continued';
  /** A failed run's error code (runErrorCodes). */
  code?: string;
  /** Since the run started (its first execution), by workflow time. */
  durationMs: number;
  /** This execution's history: events and bytes, as Temporal counts them. */
  historyEvents: number;
  historyBytes: number;
}

export interface RunMetricsSinks extends Sinks {
  runMetrics: {
    started(kind: 'run' | 'session_turn'): void;
    ended(kind: 'run' | 'session_turn', end: RunEnd): void;
  };
}

const { runMetrics } = proxySinks<RunMetricsSinks>();

const kind = () => (workflowInfo().parent ? 'session_turn' : 'run');

const replaying = () => workflowInfo().unsafe.isReplaying;

export function runStarted(): void {
  if (!replaying()) runMetrics.started(kind());
}

/** The run (or, `continued`, this execution of it) ends. */
export function runEnded(outcome: RunEnd['outcome'], code?: string): void {
  if (replaying()) return;
  const info = workflowInfo();
  runMetrics.ended(kind(), {
    outcome,
    ...(code ? { code } : {}),
    durationMs: Math.max(0, Date.now() - info.startTime.getTime()),
    historyEvents: info.historyLength,
    historyBytes: info.historySize,
  });
}
