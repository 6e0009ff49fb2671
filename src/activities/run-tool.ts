import { Context } from '@temporalio/activity';
import { FINISHED, type EventPosition } from '../shared/event-position';
import type { StreamEvent, ToolProgress } from '../shared/events';
import type { ToolActivityInput, ToolActivityResult } from '../shared/run-types';
import type { LiveRelay, StreamCoordinates } from '../relay/live-relay';
import { startHeartbeats, stepCancellation } from './heartbeat';
import { defaultToolResultMaxBytes, limitResult } from './result-limit';
import { ToolInputError, toolActivityName, type ToolDefinition, type ToolRegistry } from './tools/registry';

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
  publish({ position: at(1), event: 'tool.started', data: { runId, step, callId, name, arguments: input.arguments } });

  const maxBytes = Math.min(dependencies.toolResultMaxBytes ?? defaultToolResultMaxBytes, input.maxResultBytes ?? Number.POSITIVE_INFINITY);
  const finish = (outcome: ToolActivityResult): ToolActivityResult => {
    let result = outcome;
    if (result.ok) {
      const limited = limitResult(name, result.result, maxBytes);
      result = { ...result, result: limited.text, ...(limited.truncated ? { truncated: limited.truncated } : {}) };
    } else result = { ...result, error: limitResult(name, result.error, Math.min(maxBytes, 16 * 1024)).text };
    publish(
      result.ok
        ? { position: at(FINISHED), event: 'tool.completed', data: { runId, step, callId, name, result: result.result, attempts: attempt, ...(result.truncated ? { truncated: result.truncated } : {}) } }
        : { position: at(FINISHED), event: 'tool.failed', data: { runId, step, callId, name, error: result.error, attempts: attempt } },
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
    try {
      const result = await tool.run(parsed.data, {
        progress(update) {
          progressSeq++;
          lastProgress = update;
          publish({ position: at(1 + progressSeq), event: 'tool.progress', data: { runId, step, callId, name, progress: update } });
          if (Date.now() - lastProgressBeat >= 1000) {
            lastProgressBeat = Date.now();
            context.heartbeat(heartbeat());
          }
        },
        signal: cancellation.signal,
        attempt,
        idempotencyKey: `${runId}:${callId}`,
        lastProgress: previous?.progress,
      });
      if (cancellation.signal.aborted) throw cancellation.signal.reason;
      return finish({ ok: true, result: asText(result), attempts: attempt });
    } catch (error) {
      // Stopped by a cancellation: end as cancelled, once Temporal has cancelled the call too.
      if (cancellation.signal.aborted) {
        await cancellation.settle();
        throw context.cancellationSignal.reason;
      }
      if (error instanceof ToolInputError) return finish({ ok: false, error: error.message, attempts: attempt });
      throw error;
    }
  } finally {
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
