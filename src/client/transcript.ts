import type { RunEvent } from '../shared/events';

// What every consumer of a run's events assembles: the text of each model step (a step.retrying
// drops that step's partial text; only the final attempt's counts) and each tool call's streamed
// output (a later attempt's output replaces an earlier one's). Feed it events in stream order.

interface Attempted {
  attempt: number;
  text: string;
}

export class RunTranscript {
  private readonly steps = new Map<number, Attempted>();
  private readonly outputs = new Map<string, Attempted>();
  /** The terminal event, once it came. */
  end?: Extract<RunEvent, { event: 'run.completed' | 'run.failed' | 'run.cancelled' }>;

  add(event: RunEvent): this {
    const { data } = event;
    switch (event.event) {
      case 'step.retrying':
        this.steps.set(data.step, { attempt: event.data.attempt, text: '' });
        break;
      case 'text.delta':
        append(this.steps, data.step, event.data.attempt, event.data.delta);
        break;
      case 'tool.output.delta':
        append(this.outputs, event.data.callId, event.data.attempt, event.data.delta);
        break;
      case 'tool.completed':
      case 'tool.failed': {
        // The call's output is its last attempt's: one that streamed nothing in it has none.
        const output = this.outputs.get(event.data.callId);
        if (output && output.attempt !== event.data.attempts) this.outputs.set(event.data.callId, { attempt: event.data.attempts, text: '' });
        break;
      }
      case 'run.completed':
      case 'run.failed':
      case 'run.cancelled':
        this.end = event;
        break;
    }
    return this;
  }

  /** Each model step's text so far, by step number. */
  get stepTexts(): Map<number, string> {
    return new Map([...this.steps].sort(([a], [b]) => a - b).map(([step, entry]) => [step, entry.text]));
  }

  /** The text of all model steps, in step order. */
  get text(): string {
    return [...this.stepTexts.values()].join('');
  }

  /** Each tool call's streamed output so far, by call id. */
  get toolOutputs(): Map<string, string> {
    return new Map([...this.outputs].map(([callId, entry]) => [callId, entry.text]));
  }
}

/** Text of one attempt: a later attempt starts it over; an earlier one's late text is not its. */
function append<K>(map: Map<K, Attempted>, key: K, attempt: number, delta: string): void {
  const entry = map.get(key);
  if (!entry || attempt > entry.attempt) map.set(key, { attempt, text: delta });
  else if (attempt === entry.attempt) entry.text += delta;
}

/** Reads a whole stream into a transcript (ends with the stream: at the run's end). */
export async function collectTranscript(events: AsyncIterable<RunEvent>, onEvent?: (event: RunEvent) => void | Promise<void>): Promise<RunTranscript> {
  const transcript = new RunTranscript();
  for await (const event of events) {
    transcript.add(event);
    await onEvent?.(event);
  }
  return transcript;
}
