import { getRandomStream, type WorkflowInterceptors } from '@temporalio/workflow';
import { interceptors as openTelemetryInterceptors } from '@temporalio/interceptors-opentelemetry/lib/workflow-interceptors';

// Runs in the workflow sandbox: bundled with the workflow code when tracing is on (tracing.ts).
// Temporal's OpenTelemetry workflow interceptors, with one change: the span and trace ids they
// draw come from a random stream of their own, not from the workflow's Math.random. Otherwise
// every span (a query's too, which history does not record) would move the workflow's random
// sequence, and uuid4() (a session's turn ids) would differ between a run and its replay, and
// between a worker with tracing and one without.

const streamName = 'durable-agents/opentelemetry';

/** The interceptor with each of its methods run on the stream (its next() calls are back on the workflow's own). */
function onStream<T extends object>(interceptor: T, stream: ReturnType<typeof getRandomStream>): T {
  return new Proxy(interceptor, {
    get(target, key) {
      const value: unknown = Reflect.get(target, key);
      return typeof value === 'function' ? (...args: unknown[]) => stream.with(() => value.apply(target, args)) : value;
    },
  });
}

export const interceptors = (): WorkflowInterceptors => {
  const stream = getRandomStream(streamName);
  // Not the internals interceptor: all it does is turn off the context manager when a workflow
  // leaves the cache, and that context manager is now the one every workflow on the thread shares
  // (workflow-spans-preload.ts).
  const { inbound = [], outbound = [] } = stream.with(() => openTelemetryInterceptors());
  return {
    inbound: inbound.map((interceptor) => onStream(interceptor, stream)),
    outbound: outbound.map((interceptor) => onStream(interceptor, stream)),
  };
};
