import { SpanKind, SpanStatusCode, type Attributes, type Tracer } from '@opentelemetry/api';
import type { ActivityTelemetry } from './activity-telemetry';

// Model calls and tool calls as spans of the OpenTelemetry GenAI semantic conventions, children of
// their activity's span (the observer is called within the activity's context): `chat {model}`
// (CLIENT) with the provider, model, finish reason, token usage and time to first token, and
// `execute_tool {tool}` with the tool and its call id. No prompts, completions, tool arguments or
// results: the conventions make content opt-in, and this never opts in.

export function genAiSpans(tracer: Tracer): ActivityTelemetry {
  return {
    modelCall(info) {
      const span = tracer.startSpan(`chat ${info.model}`, {
        kind: SpanKind.CLIENT,
        attributes: {
          'gen_ai.operation.name': 'chat',
          'gen_ai.provider.name': info.provider,
          // The attribute's name before gen_ai.provider.name, still what many backends read.
          'gen_ai.system': info.provider,
          'gen_ai.request.model': info.model,
          'durable_agents.run.id': info.runId,
          'durable_agents.step': info.step,
          'durable_agents.attempt': info.attempt,
          ...(info.fallback ? { 'durable_agents.fallback': true } : {}),
        },
      });
      let first = true;
      return {
        text() {
          if (!first) return;
          first = false;
          span.addEvent('gen_ai.first_token');
        },
        end(outcome) {
          if (outcome.ok) {
            const attributes: Attributes = { 'gen_ai.response.finish_reasons': [outcome.finishReason] };
            if (outcome.inputTokens !== undefined) attributes['gen_ai.usage.input_tokens'] = outcome.inputTokens;
            if (outcome.outputTokens !== undefined) attributes['gen_ai.usage.output_tokens'] = outcome.outputTokens;
            // Seconds, from the attempt's start on the worker to its first text (the run's firstTokenMs).
            if (outcome.firstTokenMs !== undefined) attributes['gen_ai.response.time_to_first_chunk'] = outcome.firstTokenMs / 1000;
            span.setAttributes(attributes);
          } else {
            // The failure's type only: a provider's message may quote the request.
            span.setAttribute('error.type', outcome.errorType);
            span.setStatus({ code: SpanStatusCode.ERROR, message: outcome.errorType });
          }
          span.end();
        },
      };
    },
    toolCall(info) {
      const span = tracer.startSpan(`execute_tool ${info.tool}`, {
        kind: SpanKind.INTERNAL,
        attributes: {
          'gen_ai.operation.name': 'execute_tool',
          'gen_ai.tool.name': info.tool,
          'gen_ai.tool.call.id': info.callId,
          'gen_ai.tool.type': 'function',
          'durable_agents.run.id': info.runId,
          'durable_agents.step': info.step,
          'durable_agents.attempt': info.attempt,
        },
      });
      return {
        end(outcome) {
          if (outcome.cached) span.setAttribute('durable_agents.tool.cached', true);
          if (outcome.outcome !== 'completed') {
            // failed (a result the model reads), error (Temporal retries) or cancelled; not the error's text.
            span.setAttribute('error.type', outcome.outcome);
            span.setStatus({ code: SpanStatusCode.ERROR, message: outcome.outcome });
          }
          span.end();
        },
      };
    },
  };
}
