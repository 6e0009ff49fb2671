import { z } from 'zod';

// The body of POST /v1/runs, checked at the boundary.

const text = z.string();
const toolCall = z.strictObject({
  id: z.string().min(1),
  type: z.literal('function'),
  function: z.strictObject({ name: z.string().min(1), arguments: z.string() }),
});

export const chatMessageSchema = z.discriminatedUnion('role', [
  z.strictObject({ role: z.literal('system'), content: text }),
  z.strictObject({ role: z.literal('user'), content: text }),
  z.strictObject({ role: z.literal('assistant'), content: text.nullable(), tool_calls: z.array(toolCall).optional() }),
  z.strictObject({ role: z.literal('tool'), tool_call_id: z.string().min(1), content: text }),
]);

/** A run's token budget: prompt and completion tokens of all its model steps together. */
export const maxTokensSchema = z
  .number({ error: 'maxTokens must be a whole number of tokens (1 to 1,000,000,000)' })
  .int('maxTokens must be a whole number of tokens')
  .min(1, 'maxTokens must be at least 1')
  .max(1_000_000_000, 'maxTokens may be at most 1,000,000,000')
  .optional();

/** A run's task or a session's message. The meta is for the OpenAPI document (src/api/openapi/). */
const inputSchema = z
  .string({ error: 'input must be a string' })
  .refine((value) => value.trim() !== '', 'input must not be empty')
  .meta({ pattern: '\\S', description: 'The task (a session: the message); not empty or only whitespace.' });

/** A tool the model may call: one of the registry's, listed in the document as they are at start. */
const toolNameSchema = (toolNames: string[]) =>
  z
    .string()
    .refine((name) => toolNames.includes(name), { message: `unknown tool; known tools: ${toolNames.join(', ')}` })
    .meta(toolNames.length > 0 ? { enum: toolNames } : {});

export function runRequestSchema(limits: { maxSteps: number; toolNames: string[] }) {
  return z.strictObject({
    input: inputSchema,
    model: z.string().min(1).max(200).optional(),
    system: z.string().optional(),
    maxSteps: z.number().int().min(1).max(limits.maxSteps).optional(),
    maxTokens: maxTokensSchema,
    messages: z.array(chatMessageSchema).max(10_000).optional(),
    contextTokens: z.number().int().min(1024).max(100_000_000).optional(),
    /** false: tools with a cache policy run every time; their results are not kept either. */
    cache: z.boolean().optional(),
    tools: z.array(toolNameSchema(limits.toolNames)).optional(),
  });
}

/** The bodies of POST /v1/sessions and POST /v1/sessions/:sessionId/messages. */
export function sessionRequestSchemas(limits: { maxSteps: number; toolNames: string[] }) {
  const maxSteps = z.number().int().min(1).max(limits.maxSteps).optional();
  return {
    create: z.strictObject({
      model: z.string().min(1).max(200).optional(),
      system: z.string().optional(),
      maxSteps,
      maxTokens: maxTokensSchema,
      contextTokens: z.number().int().min(1024).max(100_000_000).optional(),
      cache: z.boolean().optional(),
      tools: z.array(toolNameSchema(limits.toolNames)).optional(),
    }),
    message: z.strictObject({ input: inputSchema, maxSteps, maxTokens: maxTokensSchema }),
  };
}

/**
 * What a run starts with (input, system prompt, earlier messages) is one Temporal payload, carried
 * again each time the run continues as new: it stays well under Temporal's 512 KB warning.
 */
export const maxStartPayloadChars = 384 * 1024;

export type RunRequest = z.infer<ReturnType<typeof runRequestSchema>>;

export function describeIssues(error: z.ZodError): string {
  return error.issues
    .map((issue) => {
      const path = issue.path.join('.');
      if (issue.code === 'unrecognized_keys') return `unknown field(s): ${issue.keys.join(', ')}`;
      if (issue.code === 'invalid_type' && issue.input === undefined) return `${path} is required`;
      return path ? `${path}: ${issue.message}` : issue.message;
    })
    .join('; ');
}
