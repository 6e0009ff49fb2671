import type { TextBlockParam, Tool, ToolResultBlockParam, ToolUseBlockParam } from '@anthropic-ai/sdk/resources/messages';
import type { ChatMessage, MessageToolCall } from '../../shared/run-types';
import type { OpenAiToolSpec } from '../tools/registry';

// The conversation is kept in the Chat Completions format; the Messages API wants another shape:
// the system prompt at the top level, only user and assistant turns, strictly alternating, a user
// turn first, tool calls as `tool_use` blocks with parsed input, tool results as `tool_result`
// blocks in the next user turn (before any text there), no empty text blocks, and tool ids of
// letters, digits, `_` and `-` only (ids from another provider, after a fallback, may not be).

type Block = TextBlockParam | ToolUseBlockParam | ToolResultBlockParam;

export interface AnthropicTurn {
  role: 'user' | 'assistant';
  content: Block[];
}

export interface AnthropicConversation {
  system?: string;
  messages: AnthropicTurn[];
}

/** Said when the conversation left to send opens with the model's turn (trimmed to fit, or given so). */
const openingPlaceholder = '(The conversation so far follows.)';

const toolId = (id: string) => id.replace(/[^A-Za-z0-9_-]/g, '_');

const textBlocks = (text: string | null): TextBlockParam[] => (text && text.trim() ? [{ type: 'text', text }] : []);

/** The model's arguments as the object the API wants; text that is not one is kept under `input`. */
function inputOf(call: MessageToolCall): Record<string, unknown> {
  try {
    const parsed = JSON.parse(call.function.arguments || '{}') as unknown;
    if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) return parsed as Record<string, unknown>;
  } catch {
    // kept below: the model reads back what it wrote
  }
  return { input: call.function.arguments };
}

export function toAnthropicMessages(messages: ChatMessage[]): AnthropicConversation {
  const system: string[] = [];
  const turns: AnthropicTurn[] = [];
  const add = (role: AnthropicTurn['role'], blocks: Block[]) => {
    if (blocks.length === 0) return;
    const last = turns.at(-1);
    if (last?.role === role) last.content.push(...blocks);
    else turns.push({ role, content: blocks });
  };
  for (const message of messages) {
    if (message.role === 'system') {
      if (message.content.trim()) system.push(message.content);
    } else if (message.role === 'user') {
      add('user', textBlocks(message.content));
    } else if (message.role === 'assistant') {
      const calls = (message.tool_calls ?? []).map((call): ToolUseBlockParam => ({ type: 'tool_use', id: toolId(call.id), name: call.function.name, input: inputOf(call) }));
      add('assistant', [...textBlocks(message.content), ...calls]);
    } else {
      add('user', [{ type: 'tool_result', tool_use_id: toolId(message.tool_call_id), ...(message.content ? { content: message.content } : {}) }]);
    }
  }
  for (const turn of turns) {
    if (turn.role === 'user') turn.content = [...turn.content.filter((block) => block.type === 'tool_result'), ...turn.content.filter((block) => block.type !== 'tool_result')];
  }
  if (turns[0]?.role !== 'user') turns.unshift({ role: 'user', content: [{ type: 'text', text: openingPlaceholder }] });
  return { ...(system.length > 0 ? { system: system.join('\n\n') } : {}), messages: turns };
}

export function toAnthropicTools(specs: OpenAiToolSpec[]): Tool[] {
  return specs.map((spec) => ({
    name: spec.function.name,
    description: spec.function.description,
    input_schema: { type: 'object', ...spec.function.parameters } as Tool.InputSchema,
  }));
}
