import type { ToolProgress } from '../../client';
import { shorten } from '../summary';
import type { Style } from '../style';
import { LineBuffer, seconds, type ToolDisplay } from './tool-display';

// Tools as lines (no terminal, or a pipe): a line per start, per progress message that changed,
// per line of output (prefixed by the call) and per end. Written to stderr: stdout is the answer.

export class ToolLines implements ToolDisplay {
  private readonly names = new Map<string, string>();
  private readonly lastMessage = new Map<string, string>();
  private readonly buffer = new LineBuffer();

  constructor(
    private readonly write: (line: string) => void,
    private readonly style: Style,
  ) {}

  started(callId: string, name: string, args: string, estimatedMs?: number): void {
    this.names.set(callId, name);
    this.write(`→ ${name}(${shorten(args)})${estimatedMs ? this.style.dim(` ~${seconds(estimatedMs)}`) : ''}`);
  }

  progress(callId: string, progress: ToolProgress): void {
    const text = [progress.fraction !== undefined ? `${Math.round(progress.fraction * 100)}%` : '', progress.message ?? ''].filter(Boolean).join(' ');
    if (!text || this.lastMessage.get(callId) === text) return;
    this.lastMessage.set(callId, text);
    this.write(this.style.dim(`  ${this.names.get(callId) ?? callId}: ${text}`));
  }

  output(callId: string, attempt: number, delta: string): void {
    const { lines, restarted } = this.buffer.add(callId, attempt, delta);
    if (restarted) this.write(this.style.dim(`  ${this.names.get(callId)} attempt ${attempt}: its output starts over`));
    for (const line of lines) this.write(this.style.dim(`  │ ${line}`));
  }

  finished(callId: string, outcome: { ok: boolean; text: string; cached?: boolean }): void {
    const rest = this.buffer.flush(callId);
    if (rest) this.write(this.style.dim(`  │ ${rest}`));
    const name = this.names.get(callId) ?? callId;
    const mark = outcome.ok ? this.style.green('✓') : this.style.red('✗');
    this.write(`${mark} ${name}${outcome.cached ? ' (cached)' : ''}: ${shorten(outcome.text.replace(/\s+/g, ' '), 100)}`);
  }

  end(): void {}
}
