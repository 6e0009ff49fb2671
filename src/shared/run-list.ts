// One run in GET /v1/runs (src/api/run-list.ts), as the API sends it and the client reads it.

import { fitJsonBytes, uiTextBytes } from './text-fit';

/** What a list can filter on; `running` includes runs no worker has taken yet (`queued` in GET). */
export const runListStatuses = ['running', 'completed', 'failed', 'cancelled'] as const;
export type RunListStatus = (typeof runListStatuses)[number];

export interface RunListItem {
  runId: string;
  status: RunListStatus;
  /** ISO times. */
  startedAt: string;
  closedAt?: string;
  /** The model and the start of the task, for runs started since lists (their memo). */
  model?: string;
  input?: string;
  /** A session's turn: the session it belongs to. */
  sessionId?: string;
  links: { self: string; events: string };
}

const inputPreviewChars = 200;
const summaryChars = 120;

/** The memo fields a run starts with, for lists: the model and the first characters of the task. */
export function listMemo(input: { input: string; model: string }): { model: string; input: string } {
  return { model: input.model, input: input.input.length > inputPreviewChars ? `${input.input.slice(0, inputPreviewChars)}…` : input.input };
}

/** Markdown's punctuation escaped: the task is plain text, never links or markup in the Web UI. */
const escapeMarkdown = (text: string) => text.replace(/[\\`*_{}[\]()<>#+!|~-]/g, (character) => `\\${character}`);

/** A run's one-line summary in the Temporal Web UI (Temporal markdown): the start of its task, as text. */
export function runSummaryLine(task: string): string {
  const line = task.replace(/\s+/g, ' ').trim();
  return fitJsonBytes(escapeMarkdown(line.length > summaryChars ? `${line.slice(0, summaryChars - 1)}…` : line), uiTextBytes.summary) || '(empty task)';
}

/** A run's fixed details in the Web UI (Temporal markdown): its settings, and where else to see it. */
export function runDetailsMarkdown(input: { model: string; tools: string[]; maxSteps?: number; maxTokens?: number }, links?: { api: string; console: string }): string {
  const settings = [`**Model** \`${input.model}\``, `**tools** ${input.tools.length > 0 ? input.tools.join(', ') : 'none'}`];
  if (input.maxSteps) settings.push(`**max steps** ${input.maxSteps}`);
  if (input.maxTokens) settings.push(`**max tokens** ${input.maxTokens}`);
  const lines = [settings.join(' · ')];
  if (links) lines.push(`[In the console](${links.console}) · [In the API](${links.api})`);
  return fitJsonBytes(lines.join('\n\n'), uiTextBytes.details);
}
