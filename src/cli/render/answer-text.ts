// The answer on stdout as tokens arrive. A step.retrying means the step's partial text is void:
// in a terminal the text is erased (the cursor goes back up over the rows it took, and the
// screen is cleared below) unless some of it has scrolled out of sight; otherwise, and whenever
// stdout is not a terminal (a pipe, a file: nothing can be taken back), the partial text stays and a
// note on stderr says it is discarded. Either way the new attempt's text follows.

export class AnswerText {
  /** What the current model step has written so far (its attempt's text). */
  private stepText = '';
  private atLineStart = true;

  constructor(private readonly out: NodeJS.WriteStream) {}

  write(delta: string): void {
    if (!delta) return;
    this.out.write(delta);
    this.stepText += delta;
    this.atLineStart = delta.endsWith('\n');
  }

  /** A new model step: its text is not the previous step's. */
  stepStarted(): void {
    this.stepText = '';
  }

  /** Ends the current line, before something else is written to the terminal. */
  breakLine(): void {
    if (!this.atLineStart) this.out.write('\n');
    this.atLineStart = true;
  }

  /** Drops the step's partial text; true when it was erased from the screen. */
  discard(): boolean {
    const text = this.stepText;
    this.stepText = '';
    if (!text) return true;
    const rows = this.rowsOf(text);
    if (!this.out.isTTY || rows === undefined || rows >= (this.out.rows ?? 0)) {
      this.breakLine();
      return false;
    }
    this.out.write(`\r${rows > 1 ? `\x1b[${rows - 1}A` : ''}\x1b[J`);
    this.atLineStart = true;
    return true;
  }

  /** Terminal rows the text takes from its first column (code points as one column each). */
  private rowsOf(text: string): number | undefined {
    const columns = this.out.columns;
    if (!columns) return undefined;
    // The text started where the cursor was: at a line's start (breakLine before every step's text).
    return text.split('\n').reduce((rows, line) => rows + Math.max(1, Math.ceil([...line].length / columns)), 0);
  }
}
