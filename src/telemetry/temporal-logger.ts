import { DefaultLogger, type LogEntry } from '@temporalio/worker';
import type { Logger, LogLevel } from './logger';

// The Temporal SDK's logs (worker, workflows, activities) as lines of our logger. Temporal's
// `workflowId` is our run id; its `runId` is the execution's id: renamed so `runId` means one
// thing in every line.

const levels = { TRACE: 'trace', DEBUG: 'debug', INFO: 'info', WARN: 'warn', ERROR: 'error' } as const;

export function temporalLogger(logger: Logger, level: LogLevel): DefaultLogger {
  // The SDK's own INFO lines (worker state changes) only when asked for more than info.
  const temporalLevel = level === 'trace' ? 'TRACE' : level === 'debug' ? 'DEBUG' : 'WARN';
  return new DefaultLogger(temporalLevel, (entry: LogEntry) => {
    const { workflowId, runId, sdkComponent: _component, ...meta } = (entry.meta ?? {}) as Record<string, unknown>;
    const fields = { ...meta, ...(typeof workflowId === 'string' ? { runId: workflowId } : {}), ...(typeof runId === 'string' ? { executionId: runId } : {}) };
    logger[levels[entry.level]](fields, entry.message);
  });
}
