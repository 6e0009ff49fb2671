import type { RunEvent } from '../../client';
import { formatEnd, shorten } from '../summary';
import { styleFor, type Style } from '../style';
import { AnswerText } from './answer-text';
import type { Renderer } from './renderer';
import { ToolBars } from './tool-bars';
import type { ToolDisplay } from './tool-display';
import { ToolLines } from './tool-lines';

// A run for people: the answer on stdout as it streams, everything else (tools, approvals,
// retries, the end with usage and cost) on stderr, so `> answer.txt` keeps only the answer.
// Bars in a terminal, lines otherwise.

export class TextRenderer implements Renderer {
  private readonly answer: AnswerText;
  private readonly tools: ToolDisplay;
  private readonly style: Style;
  /** Each model step's current attempt: text of an earlier attempt that arrives late is not shown. */
  private readonly attempts = new Map<number, number>();

  constructor(
    private readonly runId: string,
    out: NodeJS.WriteStream = process.stdout,
    private readonly err: NodeJS.WriteStream = process.stderr,
  ) {
    this.answer = new AnswerText(out);
    this.style = styleFor(err);
    const terminal = out.isTTY === true && err.isTTY === true;
    this.tools = terminal ? new ToolBars(err, this.style) : new ToolLines((line) => this.note(line), this.style);
  }

  note(line: string): void {
    this.answer.breakLine();
    this.err.write(`${line}\n`);
  }

  event(event: RunEvent): void {
    const { style } = this;
    switch (event.event) {
      case 'run.started':
        return this.note(style.dim(`run ${event.data.runId} · ${event.data.model}`));
      case 'run.queued':
        return this.note(style.yellow(`queued: ${event.data.reason}`));
      case 'step.started':
        if (event.data.kind === 'llm') {
          this.answer.breakLine();
          this.answer.stepStarted();
        }
        return;
      case 'text.delta': {
        const attempt = this.attempts.get(event.data.step) ?? event.data.attempt;
        if (event.data.attempt < attempt) return;
        this.attempts.set(event.data.step, event.data.attempt);
        return this.answer.write(event.data.delta);
      }
      case 'step.retrying': {
        this.attempts.set(event.data.step, event.data.attempt);
        const erased = this.answer.discard();
        const what = erased ? 'its partial text was erased' : 'the text above is discarded';
        return this.note(style.yellow(`↻ step ${event.data.step} retrying (attempt ${event.data.attempt}: ${event.data.reason}); ${what}`));
      }
      case 'tool.started':
        this.answer.breakLine();
        return this.tools.started(event.data.callId, event.data.name, event.data.arguments, event.data.estimatedMs);
      case 'tool.progress':
        return this.tools.progress(event.data.callId, event.data.progress, event.data.etaMs);
      case 'tool.output.delta':
        return this.tools.output(event.data.callId, event.data.attempt, event.data.delta);
      case 'tool.completed':
        return this.tools.finished(event.data.callId, { ok: true, text: event.data.result, ...(event.data.cached ? { cached: true } : {}) });
      case 'tool.failed':
        return this.tools.finished(event.data.callId, { ok: false, text: event.data.error });
      case 'approval.requested': {
        const { callId, name } = event.data;
        this.note(style.yellow(`? ${name}(${shorten(event.data.arguments)}) waits for approval (call ${callId}):`));
        this.note(`    durable-agents approve ${this.runId} ${callId}`);
        return this.note(`    durable-agents deny ${this.runId} ${callId} --reason "…"`);
      }
      case 'approval.decided':
        return this.note(style.dim(`${event.data.name} ${event.data.decision}${event.data.reason ? `: ${event.data.reason}` : ''}`));
      case 'step.completed':
        if (event.data.kind === 'tools') this.tools.end();
        return;
      case 'run.completed':
      case 'run.failed':
      case 'run.cancelled': {
        this.tools.end();
        const line = formatEnd(event);
        return this.note(event.event === 'run.completed' ? style.green(line) : style.red(line));
      }
      default:
        // stream.live, context.trimmed, usage.updated: nothing to show (the end has exact usage).
        return;
    }
  }

  close(): void {
    this.tools.end();
    this.answer.breakLine();
  }
}
