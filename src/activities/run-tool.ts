import { Context } from '@temporalio/activity';
import { stepStartedId, toolEventId } from '../shared/event-id';
import type { ToolActivityInput, ToolActivityResult } from '../shared/run-types';
import type { LiveRelay, StreamCoordinates } from '../relay/live-relay';
import { startHeartbeats } from './heartbeat';
import { ToolInputError, type ToolRegistry } from './tools/registry';

// One tool call as one activity. Bad input (unknown tool, invalid JSON, arguments that fail the
// schema, a ToolInputError) is a result the model reads, not a retry. Anything else throws, and
// Temporal retries it under the call's retry policy.

export interface RunToolDependencies {
  relay: LiveRelay;
  tools: ToolRegistry;
  heartbeatIntervalMs?: number;
}

function parseArguments(text: string): { ok: true; value: unknown } | { ok: false; error: string } {
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch (error) {
    return { ok: false, error: `arguments are not valid JSON: ${(error as Error).message}` };
  }
}

export function createRunTool(dependencies: RunToolDependencies) {
  const { relay, tools } = dependencies;

  return async function runTool(input: ToolActivityInput): Promise<ToolActivityResult> {
    const context = Context.current();
    const { attempt } = context.info;
    const { runId, step, callId, name } = input;
    const key = `tool:${step}:${callId}`;
    const stream = relay.openStream(runId, key);
    const coordinates = (): StreamCoordinates => ({ relay: relay.address, runId, stream: key, attempt, cursor: stream.cursor ?? null });
    const stopHeartbeats = startHeartbeats(context, coordinates, dependencies.heartbeatIntervalMs);
    if (input.startedSeq === 1) {
      stream.publish({ id: stepStartedId(step), event: 'step.started', data: { runId, step, kind: 'tools' } });
    }
    stream.publish({
      id: toolEventId(step, input.startedSeq),
      event: 'tool.started',
      data: { runId, step, callId, name, arguments: input.arguments },
    });

    const finish = (result: ToolActivityResult): ToolActivityResult => {
      const id = toolEventId(step, input.finishedSeq);
      stream.publish(
        result.ok
          ? { id, event: 'tool.completed', data: { runId, step, callId, name, result: result.result, attempts: attempt } }
          : { id, event: 'tool.failed', data: { runId, step, callId, name, error: result.error, attempts: attempt } },
      );
      return result;
    };

    try {
      const tool = tools.get(name);
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
          signal: context.cancellationSignal,
          attempt,
          idempotencyKey: `${runId}:${callId}`,
        });
        return finish({ ok: true, result, attempts: attempt });
      } catch (error) {
        if (error instanceof ToolInputError) return finish({ ok: false, error: error.message, attempts: attempt });
        throw error;
      }
    } finally {
      stopHeartbeats();
      stream.close();
    }
  };
}
