import { createHash } from 'node:crypto';
import { z } from 'zod';
import { HttpError } from './errors';
import { describeIssues, sessionRequestSchemas } from './run-request';

// The body of POST /v1/chat: what the AI SDK's DefaultChatTransport sends ({id, messages, trigger,
// messageId} and the transport's `body`), checked at the boundary. Only the latest user message
// is read: the conversation itself lives in the chat's session.

/** A chat id as the client chose it; it never becomes an id of ours as it is (chatSessionId). */
export const chatIdSchema = z
  .string({ error: 'id (the chat id) must be a string' })
  .min(1, 'id (the chat id) must not be empty')
  .max(200, 'id (the chat id) may have at most 200 characters')
  .regex(/^[^\p{Cc}]+$/u, 'id (the chat id) may not contain control characters');

// UI messages as the client holds them; parts other than text are passed over, not refused.
const uiMessageSchema = z.looseObject({
  id: z.string(),
  role: z.enum(['system', 'user', 'assistant']),
  parts: z.array(z.looseObject({ type: z.string().min(1) })).max(10_000),
});

export function chatRequestSchema(limits: { maxSteps: number; toolNames: string[] }) {
  return z
    .strictObject({
      id: chatIdSchema,
      messages: z.array(uiMessageSchema).min(1, 'messages must not be empty').max(100_000).optional(),
      /** Only the latest message (a transport with prepareSendMessagesRequest): smaller requests for long chats. */
      message: uiMessageSchema.optional(),
      trigger: z.enum(['submit-message', 'regenerate-message']).optional(),
      messageId: z.string().optional(),
      // A session's settings (POST /v1/sessions): model, system, tools, contextTokens and cache
      // when the chat's session is created (its first message); maxSteps and maxTokens each turn.
      ...sessionRequestSchemas(limits).create.shape,
    })
    .refine((body) => (body.messages === undefined) !== (body.message === undefined), 'send either messages (the whole chat) or message (its latest), not both or neither');
}

export type ChatRequest = z.infer<ReturnType<typeof chatRequestSchema>>;

/** The body, checked: 400 for anything else; the text of the new user message, which becomes the turn's input. */
export function parseChatRequest(schema: ReturnType<typeof chatRequestSchema>, body: unknown): { request: ChatRequest; input: string } {
  const parsed = schema.safeParse(body);
  if (!parsed.success) throw new HttpError(400, 'invalid_request', describeIssues(parsed.error));
  const request = parsed.data;
  // A session cannot take back a turn: regenerating an answer would need the last one undone.
  if (request.trigger === 'regenerate-message') {
    throw new HttpError(400, 'unsupported_trigger', 'regenerate-message is not supported: a chat is a session, whose turns cannot be undone; send a new message instead');
  }
  const latest = request.message ?? request.messages!.at(-1)!;
  if (latest.role !== 'user') throw new HttpError(400, 'invalid_request', `the latest message must be the user's (it is "${latest.role}")`);
  const input = latest.parts
    .filter((part): part is { type: 'text'; text: string } => part.type === 'text' && typeof part.text === 'string')
    .map((part) => part.text)
    .join('\n');
  if (input.trim() === '') throw new HttpError(400, 'invalid_request', 'the latest user message has no text (only text parts are read)');
  return { request, input };
}

/**
 * The session of a chat: derived from the tenant and the chat id, so the mapping needs no store
 * and survives any restart, and two tenants' equal chat ids never meet.
 */
export const chatSessionId = (tenant: string, chatId: string): string => `chat_${createHash('sha256').update(`${tenant}\n${chatId}`).digest('base64url')}`;
