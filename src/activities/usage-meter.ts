import type { Usage } from '../shared/run-types';
import type { TokenCounter } from './context';

// A model step's tokens while it streams, for usage.updated: the prompt as counted when it was
// fitted into the context window, and the text so far. Cheap on the token path: an estimate is
// due at most every `intervalMs`, and only when text arrives (never more often than the deltas);
// a real encoding counts only the text that came since the last estimate, so the whole answer is
// tokenized once in all, not once per estimate. Counting in pieces can split a token at a piece's
// edge (about one token too many per estimate); the exact count comes with step.completed.

export const usageIntervalMs = 250;

export class UsageMeter {
  private countedChars = 0;
  private countedTokens = 0;
  private lastAt = Number.NEGATIVE_INFINITY;
  private latest: Usage | undefined;

  constructor(
    private readonly counter: TokenCounter,
    private readonly promptTokens: number,
    private readonly intervalMs = usageIntervalMs,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** After the text grew to `text`: an estimate if one is due, else undefined. */
  due(text: string): Usage | undefined {
    const now = this.now();
    if (now - this.lastAt < this.intervalMs) return undefined;
    this.lastAt = now;
    return this.estimate(text);
  }

  /** The step's usage with `text` as the answer so far. */
  estimate(text: string): Usage {
    let completionTokens: number;
    // The characters/N estimate costs nothing whatever the length; a real encoding goes piece by piece.
    if (this.counter.estimate) completionTokens = this.counter.count(text);
    else {
      if (text.length < this.countedChars) this.countedChars = this.countedTokens = 0;
      this.countedTokens += this.counter.count(text.slice(this.countedChars));
      this.countedChars = text.length;
      completionTokens = this.countedTokens;
    }
    this.latest = { promptTokens: this.promptTokens, completionTokens, totalTokens: this.promptTokens + completionTokens };
    return this.latest;
  }

  /** The last estimate given, if any (heartbeat details carry it). */
  get last(): Usage | undefined {
    return this.latest;
  }
}
