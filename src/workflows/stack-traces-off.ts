// Preloaded into the workflow sandbox (the bundle's preloadModules, src/worker.ts) unless
// WORKFLOW_STACK_TRACES=on. Temporal's workflow runtime records a stack trace, source-mapped, for
// every promise a workflow creates, so that the Stack Trace query (the Temporal UI's "Stack Trace"
// tab) can say where a workflow waits. That is tens of µs a promise: about 1.3 ms of a run's time
// to first token here, and more of a traced run's, whose interceptors create more promises
// (docs/traces.md, docs/benchmarks.md). With no frames to capture, each record costs a fraction of
// that; the price is that the query and errors thrown in workflow code have no frames. Set before the SDK freezes the sandbox's
// globals (the preload runs first), it holds for every workflow on the thread; it changes nothing a
// workflow decides, so histories replay the same either way.
Error.stackTraceLimit = 0;
