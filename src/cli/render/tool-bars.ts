import { MultiBar, type SingleBar } from 'cli-progress';
import type { ToolProgress } from '../../client';
import { shorten } from '../summary';
import type { Style } from '../style';
import { LineBuffer, seconds, type ToolDisplay } from './tool-display';

// Tools in a terminal: one bar per call, parallel calls one under the other and all live
// (cli-progress's MultiBar redraws them together on stderr). Streamed output goes above the bars,
// dimmed, line by line. A call without a fraction shows its message; a finished one 100% and
// its result. The bars stay on screen when the step ends.

const barFormat = '{name} {bar} {percentage}% {status}';

export class ToolBars implements ToolDisplay {
  private multibar: MultiBar | undefined;
  private readonly bars = new Map<string, { bar: SingleBar; name: string }>();
  private readonly buffer = new LineBuffer();

  constructor(
    private readonly stream: NodeJS.WriteStream,
    private readonly style: Style,
  ) {}

  private get live(): MultiBar {
    this.multibar ??= new MultiBar({
      stream: this.stream,
      format: barFormat,
      barsize: 24,
      hideCursor: false,
      clearOnComplete: false,
      stopOnComplete: false,
      autopadding: true,
      fps: 10,
      barCompleteChar: '█',
      barIncompleteChar: '░',
    });
    return this.multibar;
  }

  started(callId: string, name: string, args: string, estimatedMs?: number): void {
    const label = `${name}(${shorten(args, 30)})`.padEnd(36);
    const status = estimatedMs ? this.style.dim(`~${seconds(estimatedMs)}`) : '';
    this.bars.set(callId, { bar: this.live.create(100, 0, { name: label, status }), name });
  }

  progress(callId: string, progress: ToolProgress, etaMs?: number): void {
    const entry = this.bars.get(callId);
    if (!entry) return;
    const status = [progress.message ?? '', etaMs !== undefined ? this.style.dim(`eta ${seconds(etaMs)}`) : ''].filter(Boolean).join(' ');
    if (progress.fraction !== undefined) entry.bar.update(Math.round(Math.min(1, Math.max(0, progress.fraction)) * 100), { status });
    else entry.bar.update({ status });
  }

  output(callId: string, attempt: number, delta: string): void {
    const { lines, restarted } = this.buffer.add(callId, attempt, delta);
    const name = this.bars.get(callId)?.name ?? callId;
    if (restarted) this.log(this.style.dim(`${name} attempt ${attempt}: its output starts over`));
    for (const line of lines) this.log(this.style.dim(`${name} │ ${line}`));
  }

  finished(callId: string, outcome: { ok: boolean; text: string; cached?: boolean }): void {
    const entry = this.bars.get(callId);
    const rest = this.buffer.flush(callId);
    if (rest) this.log(this.style.dim(`${entry?.name ?? callId} │ ${rest}`));
    const mark = outcome.ok ? this.style.green('✓') : this.style.red('✗');
    const status = `${mark} ${outcome.cached ? '(cached) ' : ''}${shorten(outcome.text.replace(/\s+/g, ' '), 40)}`;
    if (outcome.ok) entry?.bar.update(100, { status });
    else entry?.bar.update({ status });
  }

  end(): void {
    // A last redraw writes the output logged since the previous one (stop() would drop it).
    this.multibar?.update();
    this.multibar?.stop();
    this.multibar = undefined;
    this.bars.clear();
  }

  private log(line: string): void {
    this.live.log(`${line}\n`);
  }
}
