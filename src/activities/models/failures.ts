import { ApplicationFailure } from '@temporalio/activity';
import type { ModelErrorFacts } from './provider';

// Every provider's failures become the same three Temporal failure types, which the workflow's
// retry policy and its fallbacks decide on: rejected (retrying cannot help), unavailable
// (retrying or another model can), and a conversation too long for the model.

export const llmFailureTypes = {
  rejected: 'ModelRequestRejected',
  unavailable: 'ModelUnavailable',
  contextWindow: 'ContextWindowExceeded',
} as const;

// Servers word it differently: OpenAI's code, and the messages of vLLM, llama.cpp, Ollama, Anthropic and others.
const contextExceeded = /context[_ ]length[_ ]exceeded|maximum context length|context window|exceeds? the (?:model's )?context|too many tokens|prompt is too long/i;

// Providers echo keys in errors ("Incorrect API key provided: sk-abc***xyz"); failures are stored
// in history and shown to users, so both the configured keys and anything shaped like one go.
const keyShaped = /\b(sk|pk|rk)-[A-Za-z0-9_*.-]{4,}/g;

export function scrub(message: string, secrets: Array<string | undefined>): string {
  let out = message;
  for (const secret of secrets) if (secret && secret.length >= 4) out = out.split(secret).join('[redacted]');
  return out.replace(keyShaped, '[redacted]');
}

/** A request the worker refuses before calling anyone (an unknown provider, an endpoint not configured). */
export function rejectedRequest(message: string): ApplicationFailure {
  return ApplicationFailure.create({ type: llmFailureTypes.rejected, message, nonRetryable: true });
}

export function modelFailure(facts: ModelErrorFacts, secrets: Array<string | undefined>): ApplicationFailure {
  const { status, type } = facts;
  const message = scrub(facts.message, secrets);
  const clientError = status !== undefined && status >= 400 && status < 500;
  if (facts.code === 'context_length_exceeded' || (clientError && contextExceeded.test(message))) {
    // Retrying sends the same conversation again: it cannot help.
    return ApplicationFailure.create({
      type: llmFailureTypes.contextWindow,
      message: `the conversation does not fit the model's context window (the model said: ${message}); set MODEL_CONTEXT_TOKENS, or the run's contextTokens, to the model's window so that it is trimmed to fit`,
      nonRetryable: true,
    });
  }
  const permanent =
    facts.permanent ?? (!facts.connection && ((clientError && status !== 408 && status !== 409 && status !== 429) || type === 'invalid_request_error'));
  return ApplicationFailure.create({
    type: permanent ? llmFailureTypes.rejected : llmFailureTypes.unavailable,
    message: `model call failed${status ? ` (HTTP ${status})` : ''}: ${message}`,
    nonRetryable: permanent,
  });
}
