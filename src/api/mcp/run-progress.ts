import type { RunEvent } from '../../shared/events';

// What an MCP client is told while a run it started goes on: one line of status for
// notifications/progress, built from the run's events. Text steps show their text so far (the
// end of it: a progress message is a status line, not the transcript), tools what they are
// doing, approvals what waits and how to decide it. The run's end is the tool's result, not a
// progress message.

/** The most of a step's text one message carries (its end). */
const maxMessageChars = 1000;

type EndEvent = Extract<RunEvent, { event: 'run.completed' | 'run.failed' | 'run.cancelled' }>;

export class RunProgress {
  private text = '';
  private status = 'started';
  private readonly tools = new Map<string, string>();
  /** The run's terminal event, once it came. */
  end: EndEvent | undefined;
  /** The id of the last event seen: where an SSE client would resume. */
  lastEventId: string | undefined;

  constructor(private readonly runId: string) {}

  push(event: RunEvent): void {
    this.lastEventId = event.id;
    const step = `step ${event.data.step}`;
    switch (event.event) {
      case 'run.queued':
        this.status = `queued: ${event.data.reason}`;
        break;
      case 'step.started':
        this.text = '';
        this.tools.clear();
        this.status = event.data.kind === 'llm' ? `${step}: the model is thinking` : `${step}: running tools`;
        break;
      case 'step.retrying':
        this.text = '';
        this.status = `${step}: retrying (${event.data.reason})`;
        break;
      case 'text.delta':
        this.text += event.data.delta;
        this.status = '';
        break;
      case 'tool.started':
        this.tools.set(event.data.callId, `${event.data.name}: started`);
        break;
      case 'tool.progress': {
        const { message, fraction } = event.data.progress;
        const percent = typeof fraction === 'number' ? ` (${Math.round(fraction * 100)}%)` : '';
        this.tools.set(event.data.callId, `${event.data.name}: ${message ?? 'working'}${percent}`);
        break;
      }
      case 'tool.completed':
        this.tools.set(event.data.callId, `${event.data.name}: done`);
        break;
      case 'tool.failed':
        this.tools.set(event.data.callId, `${event.data.name}: failed`);
        break;
      case 'approval.requested':
        this.tools.set(
          event.data.callId,
          `${event.data.name} waits for approval: decide_approval with runId "${this.runId}" and callId "${event.data.callId}" (arguments ${event.data.arguments.slice(0, 200)})`,
        );
        break;
      case 'approval.decided':
        this.tools.set(event.data.callId, `${event.data.name}: ${event.data.decision}`);
        break;
      case 'run.completed':
      case 'run.failed':
      case 'run.cancelled':
        this.end = event;
        break;
      default:
        break;
    }
  }

  /** The status line now. */
  message(): string {
    if (this.text !== '' && this.tools.size === 0) return this.text.length > maxMessageChars ? `…${this.text.slice(-maxMessageChars)}` : this.text;
    const tools = [...this.tools.values()];
    return [this.status, ...tools].filter(Boolean).join('; ') || 'running';
  }
}
