// OpenTelemetry's browser build (the one bundled into workflows) takes `performance` when it
// loads, and the sandbox has none before a workflow runs (workflow-spans-preload.ts loads it).
// Span times are then the workflow's own clock, Date.now(), as with Temporal's interceptors.
if (typeof (globalThis as { performance?: unknown }).performance === 'undefined') {
  Object.defineProperty(globalThis, 'performance', { value: { timeOrigin: 0, now: () => Date.now() }, writable: true, configurable: true });
}
export {};
