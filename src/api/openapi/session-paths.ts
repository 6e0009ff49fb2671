import { z } from 'zod';
import type { ZodOpenApiPathsObject } from 'zod-openapi';
import { idPattern } from '../run-defaults';
import type { sessionRequestSchemas } from '../run-request';
import { errorResponses } from './error-responses';
import { json, locationHeader, withHeaders, type PathContext } from './path-context';
import * as bodies from './response-schemas';

// /v1/sessions: conversations whose every message is a run.

const sessionId = z.string().regex(idPattern).meta({ description: 'A session id.' });

export function sessionPaths(context: PathContext, requests: ReturnType<typeof sessionRequestSchemas>): ZodOpenApiPathsObject {
  const { guarded, common, get, post, rateHeaders } = context;
  return {
    '/v1/sessions': {
      post: {
        operationId: 'createSession',
        tags: ['Sessions'],
        summary: 'Create a session',
        description: 'A conversation: its settings apply to each turn (maxTokens: each turn\'s budget).',
        ...guarded('sessions'),
        requestBody: { required: true, ...json(requests.create) },
        responses: {
          '201': { description: 'Created', ...withHeaders(locationHeader, rateHeaders), ...json(bodies.sessionCreatedSchema) },
          ...errorResponses(common, post, { 400: ['invalid_request', 'model_not_allowed', 'model_not_available'] }),
        },
      },
    },
    '/v1/sessions/{sessionId}': {
      get: {
        operationId: 'getSession',
        tags: ['Sessions'],
        summary: 'Read a session',
        ...guarded('sessions'),
        requestParams: { path: z.object({ sessionId }) },
        responses: { '200': { description: 'The session and its latest turns', ...json(bodies.sessionSchema) }, ...errorResponses(common, get, { 404: ['session_not_found'] }) },
      },
    },
    '/v1/sessions/{sessionId}/messages': {
      post: {
        operationId: 'sendMessage',
        tags: ['Sessions'],
        summary: 'Send a message (start a turn)',
        description: `Each message is a run that sees the earlier turns; stream it like any run. \`input\` takes at most ${context.settings.limits.maxInputChars} characters.`,
        ...guarded('sessions'),
        requestParams: { path: z.object({ sessionId }) },
        requestBody: { required: true, ...json(requests.message) },
        responses: {
          '202': { description: 'The turn\'s run started', ...withHeaders(rateHeaders), ...json(bodies.turnStartedSchema) },
          ...errorResponses(common, post, {
            400: ['invalid_request'],
            404: ['session_not_found'],
            409: ['turn_in_progress'],
            413: ['input_too_large'],
            429: [context.runCap && 'too_many_running_runs'],
          }),
        },
      },
    },
  };
}
