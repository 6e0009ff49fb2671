import { z } from 'zod';
import type { ZodOpenApiPathsObject } from 'zod-openapi';
import { chatIdSchema, chatRequestSchema } from '../chat-request';
import { errorResponses } from './error-responses';
import type { PathContext } from './path-context';

// POST /v1/chat and GET /v1/chat/:chatId/stream (src/api/chat-router.ts): the AI SDK's useChat
// protocol over sessions. Their streams are the AI SDK's UI message stream, not this API's events.

const uiMessageStream = {
  'text/event-stream': {
    schema: z.string().meta({
      description: 'The AI SDK\'s UI message stream (SSE, `x-vercel-ai-ui-message-stream: v1`): one JSON chunk per `data:` line, `[DONE]` last. Read it with useChat.',
    }),
  },
};

export function chatPaths(context: PathContext): ZodOpenApiPathsObject {
  const { limits, toolNames } = context.settings;
  const { common, get, post, runCap, streamCap } = context;
  return {
    '/v1/chat': {
      post: {
        operationId: 'chat',
        tags: ['Sessions'],
        summary: 'Send a chat message (AI SDK useChat)',
        description:
          'What useChat with DefaultChatTransport sends: the chat is a session (its id derived from the tenant and `id`), each message a turn. ' +
          `Only the latest user message is read (text parts, at most ${limits.maxInputChars} characters). The answer streams the turn.`,
        ...context.guarded('sessions'),
        requestBody: { required: true, content: { 'application/json': { schema: chatRequestSchema({ maxSteps: limits.maxSteps, toolNames }) } } },
        responses: {
          '200': { description: 'The turn, streamed', content: uiMessageStream },
          ...errorResponses(common, post, {
            400: ['invalid_request', 'unsupported_trigger', 'model_not_allowed', 'model_not_available'],
            409: ['turn_in_progress'],
            413: ['input_too_large'],
            429: [streamCap && 'too_many_streams', runCap && 'too_many_running_runs'],
          }),
        },
      },
    },
    '/v1/chat/{chatId}/stream': {
      get: {
        operationId: 'resumeChat',
        tags: ['Sessions'],
        summary: 'Resume a chat\'s running turn (AI SDK resume)',
        ...context.guarded('sessions'),
        requestParams: { path: z.object({ chatId: chatIdSchema }) },
        responses: {
          '200': { description: 'The running turn, streamed', content: uiMessageStream },
          '204': { description: 'No turn is running: nothing to resume.' },
          ...errorResponses(common, get, { 400: ['invalid_request'], 429: [streamCap && 'too_many_streams'] }),
        },
      },
    },
  };
}
