import { Context } from '@temporalio/activity';
import { FINISHED, type EventPosition } from '../shared/event-position';
import type { StreamEvent, ToolProgress } from '../shared/events';
import type { ToolActivityInput, ToolActivityResult } from '../shared/run-types';
import type { LiveRelay, StreamCoordinates } from '../relay/live-relay';
import { startHeartbeats, stepCancellation } from './heartbeat';
import { defaultToolResultMaxBytes, limitResult, utf8Prefix } from './result-limit';
import { ToolInputError, toolActivityName, type ToolDefinition, type ToolRegistry } from './tools/registry';
import { ToolResultCache } from './tools/tool-cache';
import { estimateOf, type ToolEstimate, type ToolStats } from './tools/tool-stats';
import { runWithPermit } from './tools/concurrency-gate';
import { noTelemetry, type ActivityTelemetry } from '../telemetry/activity-telemetry';

/** TOOL_OUTPUT_MAX_BYTES' default: what one call may stream (and keep for late readers). */
export const defaultToolOutputMaxBytes = 64 * 1024;

// One tool call as one activity (`tool:<name>`). Bad input (invalid JSON, arguments that fail the
// schema, a ToolInputError) is a result the model reads, not a retry. Anything else throws, and
// Temporal retries it under the tool's policy. Progress reaches subscribers at once through the
// relay and rides on the heartbeat, so a retried attempt can read where the last one got.

export interface RunToolDependencies {
  relay: LiveRelay;
  tools: ToolRegistry;
  heartbeatIntervalMs?: number;
  /** TOOL_RESULT_MAX_BYTES: longer results are cut, with a marker (see result-limit.ts). */
  toolResultMaxBytes?: number;
  /** TOOL_OUTPUT_MAX_BYTES: the most output (context.output) one call streams and keeps. */
  toolOutputMaxBytes?: number;
  /** Where tools with a cache policy keep their results (tools/tool-cache.ts); none: no caching. */
  cache?: ToolResultCache;
  /** Shared tool analytics (tools/tool-stats.ts): samples of each call, estimates for the next. */
  stats?: ToolStats;
  /** Metrics and traces of each call (src/telemetry). */
  telemetry?: ActivityTelemetry;
}

/**
 * Heartbeat details of a tool call: coordinates, which call it is, and its last progress (for a
 * retried attempt, and for an API that cannot reach this worker).
 */
interface ToolHeartbeat extends StreamCoordinates {
  step: number;
  callIndex: number;
  callCount: number;
  callId: string;
  name: string;
  progressSeq: number;
  progress?: ToolProgress;
  /** The estimate the call's first attempt announced: every attempt says the same. */
  estimate?: ToolEstimate;
}

function parseArguments(text: string): { ok: true; value: unknown } | { ok: false; error: string } {
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch (error) {
    return { ok: false, error: `arguments are not valid JSON: ${(error as Error).message}` };
  }
}

const asText = (value: unknown): string => (typeof value === 'string' ? value : (JSON.stringify(value) ?? ''));

async function executeTool(dependencies: RunToolDependencies, tool: ToolDefinition | undefined, input: ToolActivityInput): Promise<ToolActivityResult> {
  const context = Context.current();
  const { attempt } = context.info;
  const { runId, step, callId, name, callIndex, callCount } = input;
  const key = `tool:${step}:${callId}`;
  const stream = dependencies.relay.openStream(runId, key);
  const previous = (context.info.heartbeatDetails ?? undefined) as ToolHeartbeat | undefined;
  let progressSeq = previous?.progressSeq ?? 0;
  // The tool's recent p50 across every worker, once there is history. Fixed for the call (the
  // heartbeat carries it to a retried attempt) and returned with the result, so that a late
  // reader rebuilds the same tool.started as a live one saw.
  const estimate = previous?.estimate ?? estimateOf(dependencies.stats?.current(name));
  let lastProgress = previous?.progress;
  const heartbeat = (): ToolHeartbeat => ({
    relay: dependencies.relay.address,
    runId,
    stream: key,
    attempt,
    cursor: stream.cursor ?? null,
    step,
    callIndex,
    callCount,
    callId,
    name,
    progressSeq,
    ...(lastProgress ? { progress: lastProgress } : {}),
    ...(estimate ? { estimate } : {}),
  });
  const stopHeartbeats = startHeartbeats(context, heartbeat, dependencies.heartbeatIntervalMs);
  // Aborted by Temporal's cancellation, or sooner by the API's word (heartbeat.ts).
  const cancellation = stepCancellation(context, dependencies.relay, runId, () => context.heartbeat(heartbeat()));
  // Progress goes out in a heartbeat at once, but not more than one a second (the worker lets
  // heartbeats through every 20 ms, for cancellations).
  let lastProgressBeat = 0;
  const at = (mark: number): EventPosition => ({ kind: 'tool', step, call: callIndex, calls: callCount, mark });
  const publish = (event: StreamEvent) => stream.publish(event);
  publish({ position: { kind: 'step-start', step }, event: 'step.started', data: { runId, step, kind: 'tools' } });
  const startedAt = Date.now();
  publish({ position: at(1), event: 'tool.started', data: { runId, step, callId, name, arguments: input.arguments, ...estimate } });
  const record = (ok: boolean, cached = false) => dependencies.stats?.record({ tool: name, ms: Date.now() - startedAt, ok, cached });
  const observer = (dependencies.telemetry ?? noTelemetry).toolCall({ runId, step, callId, tool: name, attempt });

  const maxBytes = Math.min(dependencies.toolResultMaxBytes ?? defaultToolResultMaxBytes, input.maxResultBytes ?? Number.POSITIVE_INFINITY);
  // Streamed output is kept in the result too (for late readers), so it has a share of the
  // call's budget: a quarter, at most TOOL_OUTPUT_MAX_BYTES. What passes the limit is neither
  // sent nor kept, so live and late readers see the same output.
  const outputMaxBytes = Math.min(dependencies.toolOutputMaxBytes ?? defaultToolOutputMaxBytes, Math.floor(maxBytes / 4));
  let output = '';
  let outputBytes = 0;
  let outputTotalBytes = 0;
  let finished = false;
  const streamOutput = (chunk: string) => {
    if (finished || typeof chunk !== 'string' || chunk.length === 0) return;
    const bytes = Buffer.byteLength(chunk, 'utf8');
    outputTotalBytes += bytes;
    if (outputBytes >= outputMaxBytes) return;
    const text = outputBytes + bytes <= outputMaxBytes ? chunk : utf8Prefix(chunk, outputMaxBytes - outputBytes);
    // A character that does not fit ends the output: nothing after it may go out either.
    outputBytes = text === chunk ? outputBytes + bytes : outputMaxBytes;
    if (text.length === 0) return;
    const start = output.length;
    output += text;
    publish({
      position: { kind: 'tool-output', step, call: callIndex, calls: callCount, attempt, start, end: output.length },
      event: 'tool.output.delta',
      data: { runId, step, callId, name, attempt, delta: text },
    });
  };
  const outputRecord = () => {
    const kept = Buffer.byteLength(output, 'utf8');
    return {
      ...(output ? { output } : {}),
      ...(outputTotalBytes > kept ? { outputTruncated: { totalBytes: outputTotalBytes, keptBytes: kept } } : {}),
    };
  };
  const finish = (outcome: ToolActivityResult): ToolActivityResult => {
    finished = true;
    let result: ToolActivityResult = { ...outcome, ...estimate, ...outputRecord() };
    if (result.ok) {
      const limited = limitResult(name, result.result, maxBytes);
      result = { ...result, result: limited.text, ...(limited.truncated ? { truncated: limited.truncated } : {}) };
    } else result = { ...result, error: limitResult(name, result.error, Math.min(maxBytes, 16 * 1024)).text };
    record(result.ok, result.ok && result.cached === true);
    observer.end(result.ok ? { outcome: 'completed', cached: result.cached === true } : { outcome: 'failed', cached: false, error: result.error });
    // The end comes after the output: a client that lacks some reads it first (event-position.ts).
    const end: EventPosition = { ...at(FINISHED), ...(output ? { output: { attempt, length: output.length } } : {}) };
    publish(
      result.ok
        ? {
            position: end,
            event: 'tool.completed',
            data: {
              runId,
              step,
              callId,
              name,
              result: result.result,
              attempts: attempt,
              ...(result.truncated ? { truncated: result.truncated } : {}),
              ...(result.cached ? { cached: true as const } : {}),
              ...(result.outputTruncated ? { outputTruncated: result.outputTruncated } : {}),
            },
          }
        : {
            position: end,
            event: 'tool.failed',
            data: { runId, step, callId, name, error: result.error, attempts: attempt, ...(result.outputTruncated ? { outputTruncated: result.outputTruncated } : {}) },
          },
    );
    return result;
  };

  try {
    if (!tool) return finish({ ok: false, error: `unknown tool "${name}"`, attempts: attempt });
    const parsedJson = parseArguments(input.arguments);
    if (!parsedJson.ok) return finish({ ok: false, error: parsedJson.error, attempts: attempt });
    const parsed = tool.parameters.safeParse(parsedJson.value);
    if (!parsed.success) {
      const problems = parsed.error.issues.map((issue) => `${issue.path.join('.') || 'arguments'}: ${issue.message}`);
      return finish({ ok: false, error: `invalid arguments: ${problems.join('; ')}`, attempts: attempt });
    }
    // A tool with a cache policy: an equal call's live result is this call's result (recorded in
    // the run's history like any other, so replay does not depend on the cache).
    const cache = tool.cache && input.cache !== false ? dependencies.cache : undefined;
    const cacheKey = cache ? ToolResultCache.key(input.tenant ?? '', name, parsed.data) : undefined;
    if (cache && cacheKey) {
      const hit = await cache.get(cacheKey);
      if (hit) return finish({ ok: true, result: hit.result, attempts: attempt, cached: true, ...(hit.truncated ? { truncated: hit.truncated } : {}) });
    }
    let cacheTtlMs = tool.cache?.ttlMs ?? 0;
    try {
      // Waits for a slot under the tool's (or host's) adaptive concurrency limit first.
      const result = await runWithPermit(dependencies.tools.concurrency, tool, parsed.data, {
        progress(update) {
          progressSeq++;
          lastProgress = update;
          // With a fraction done, the time left at the pace so far.
          const fraction = update.fraction;
          const etaMs = fraction !== undefined && fraction > 0 && fraction <= 1 ? Math.round(((Date.now() - startedAt) * (1 - fraction)) / fraction) : undefined;
          publish({ position: at(1 + progressSeq), event: 'tool.progress', data: { runId, step, callId, name, progress: update, ...(etaMs !== undefined ? { etaMs } : {}) } });
          if (Date.now() - lastProgressBeat >= 1000) {
            lastProgressBeat = Date.now();
            context.heartbeat(heartbeat());
          }
        },
        output: streamOutput,
        signal: cancellation.signal,
        attempt,
        idempotencyKey: `${runId}:${callId}`,
        lastProgress: previous?.progress,
        limitCache(ttlMs) {
          cacheTtlMs = Math.min(cacheTtlMs, Math.max(0, ttlMs));
        },
      });
      if (cancellation.signal.aborted) throw cancellation.signal.reason;
      const text = asText(result);
      if (cache && cacheKey && cacheTtlMs >= 1000) {
        // Kept whole (up to the worker's cap), not cut to this call's share of its step.
        const kept = limitResult(name, text, dependencies.toolResultMaxBytes ?? defaultToolResultMaxBytes);
        const storedAt = Date.now();
        await cache.put(cacheKey, { tool: name, result: kept.text, ...(kept.truncated ? { truncated: kept.truncated } : {}), storedAt, expiresAt: storedAt + cacheTtlMs }, context.info.taskQueue);
      }
      return finish({ ok: true, result: text, attempts: attempt });
    } catch (error) {
      // Stopped by a cancellation: end as cancelled, once Temporal has cancelled the call too.
      if (cancellation.signal.aborted) {
        observer.end({ outcome: 'cancelled', cached: false });
        await cancellation.settle();
        throw context.cancellationSignal.reason;
      }
      if (error instanceof ToolInputError) return finish({ ok: false, error: error.message, attempts: attempt });
      record(false);
      observer.end({ outcome: 'error', cached: false, error: error instanceof Error ? error.message : String(error) });
      throw error;
    }
  } finally {
    finished = true;
    stopHeartbeats();
    cancellation.dispose();
    stream.close();
  }
}

/** The activities: one per tool (`tool:<name>`), and `runTool` (by name in the input) for runs recorded before. */
export function createToolActivities(dependencies: RunToolDependencies): Record<string, (input: ToolActivityInput) => Promise<ToolActivityResult>> {
  const activities: Record<string, (input: ToolActivityInput) => Promise<ToolActivityResult>> = {
    runTool: (input) => executeTool(dependencies, dependencies.tools.get(input.name), input),
  };
  for (const tool of dependencies.tools.all) {
    activities[toolActivityName(tool.name)] = (input) => executeTool(dependencies, tool, input);
  }
  return activities;
}
