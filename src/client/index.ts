// durable-agents/client: a typed client of the API for Node 18+ and browsers.

export { createClient, DurableAgentsClient, type DurableAgentsClientOptions } from './client';
export { ApiError } from './api-error';
export { RunEventStream, StreamDataError, type StreamRunOptions } from './run-stream';
export { reconnectDelay, type ReconnectOptions } from './backoff';
export { collectTranscript, RunTranscript } from './transcript';
export type * from './api-types';
export type { RunEvent, RunEventBody, RunEventName, LiveUsage, ToolProgress } from '../shared/events';
export type { ChatMessage, PendingApproval, RunError, RunStatus, StepRecord, Usage } from '../shared/run-types';
export type { Cost } from '../shared/prices';
