import type { Cost, LiveUsage, RunEvent, ToolProgress, Usage } from '../../../src/client';

// What the run page shows, assembled from the run's events in stream order (the same rules as
// the client's RunTranscript: a step.retrying voids that step's partial text, a later attempt's
// tool output replaces an earlier one's). Mutable, with a version that changes on every event:
// the page renders it at most once per frame, however fast tokens come.

export interface ToolCallView {
  callId: string;
  name: string;
  arguments: string;
  status: 'running' | 'completed' | 'failed';
  progress?: ToolProgress;
  /** Estimated time left when the last progress came (ms), and when that was (page clock). */
  etaMs?: number;
  etaAt?: number;
  /** From the tool's past durations, at its start. */
  estimatedMs?: number;
  startedAt: number;
  output: string;
  outputAttempt: number;
  result?: string;
  error?: string;
  attempts?: number;
  cached?: boolean;
  /** 1 for the call that finished first in its step, and so on. */
  finishedOrder?: number;
}

export interface LlmStepView {
  /** The model's version when this step last changed. */
  version?: number;
  kind: 'llm';
  step: number;
  attempt: number;
  text: string;
  retries: Array<{ attempt: number; reason: string }>;
  usage?: Usage;
  cost?: Cost;
  /** Estimated while the step streams. */
  live?: LiveUsage;
  /** Seen by this page: when the step (or its latest attempt) started and its first text came. */
  startedAt?: number;
  firstTextAt?: number;
  /** Measured by the worker (step.completed), when it says. */
  firstTokenMs?: number;
  done: boolean;
}

export interface ToolsStepView {
  /** The model's version when this step last changed. */
  version?: number;
  kind: 'tools';
  step: number;
  calls: ToolCallView[];
  finished: number;
  done: boolean;
}

export interface ApprovalCallView {
  callId: string;
  name: string;
  arguments: string;
  decision?: 'approved' | 'denied' | 'timed_out';
  reason?: string;
}

export interface ApprovalStepView {
  /** The model's version when this step last changed. */
  version?: number;
  kind: 'approval';
  step: number;
  calls: ApprovalCallView[];
  done: boolean;
}

export type StepView = LlmStepView | ToolsStepView | ApprovalStepView;

export type RunPhase = 'connecting' | 'queued' | 'running' | 'completed' | 'failed' | 'cancelled';

export class RunModel {
  version = 0;
  phase: RunPhase = 'connecting';
  input = '';
  model = '';
  queuedReason?: string;
  readonly steps = new Map<number, StepView>();
  output?: string;
  partial?: string;
  error?: { code: string; message: string };
  /** Exact at the run's end; before it, the sum of finished model steps. */
  usage?: Usage;
  cost?: Cost;
  lastEventId?: string;

  constructor(readonly runId: string) {}

  add(event: RunEvent, now = Date.now()): void {
    this.version++;
    if (event.id) this.lastEventId = event.id;
    this.apply(event, now);
    // The step this event touched shows it: its version tells the page what to render again.
    const touched = this.steps.get((event.data as { step?: number }).step ?? -1);
    if (touched) touched.version = this.version;
  }

  private apply(event: RunEvent, now: number): void {
    switch (event.event) {
      case 'run.started':
        this.input = event.data.input;
        this.model = event.data.model;
        if (this.phase === 'connecting') this.phase = 'running';
        break;
      case 'run.queued':
        this.phase = 'queued';
        this.queuedReason = event.data.reason;
        break;
      case 'stream.live':
        if (this.phase === 'connecting') this.phase = 'running';
        break;
      case 'step.started': {
        this.phase = 'running';
        const { step, kind } = event.data;
        if (!this.steps.has(step)) {
          if (kind === 'llm') this.steps.set(step, { kind, step, attempt: 1, text: '', retries: [], startedAt: now, done: false });
          else if (kind === 'tools') this.steps.set(step, { kind, step, calls: [], finished: 0, done: false });
          else this.steps.set(step, { kind: 'approval', step, calls: [], done: false });
        }
        break;
      }
      case 'step.retrying': {
        const step = this.llmStep(event.data.step, now);
        step.attempt = event.data.attempt;
        step.text = '';
        step.retries.push({ attempt: event.data.attempt, reason: event.data.reason });
        step.live = undefined;
        step.startedAt = now;
        step.firstTextAt = undefined;
        break;
      }
      case 'text.delta': {
        const step = this.llmStep(event.data.step, now);
        if (event.data.attempt > step.attempt) {
          step.attempt = event.data.attempt;
          step.text = '';
        }
        if (event.data.attempt === step.attempt) {
          step.firstTextAt ??= now;
          step.text += event.data.delta;
        }
        break;
      }
      case 'usage.updated': {
        const step = this.llmStep(event.data.step, now);
        if (event.data.attempt === step.attempt) step.live = event.data;
        break;
      }
      case 'context.trimmed':
        break;
      case 'tool.started': {
        const step = this.toolsStep(event.data.step);
        if (!step.calls.some((call) => call.callId === event.data.callId)) {
          step.calls.push({
            callId: event.data.callId,
            name: event.data.name,
            arguments: event.data.arguments,
            status: 'running',
            startedAt: now,
            output: '',
            outputAttempt: 1,
            ...(event.data.estimatedMs !== undefined ? { estimatedMs: event.data.estimatedMs } : {}),
          });
        }
        break;
      }
      case 'tool.progress': {
        const call = this.call(event.data.step, event.data.callId, event.data.name, now);
        call.progress = event.data.progress;
        if (event.data.etaMs !== undefined) {
          call.etaMs = event.data.etaMs;
          call.etaAt = now;
        }
        break;
      }
      case 'tool.output.delta': {
        const call = this.call(event.data.step, event.data.callId, event.data.name, now);
        if (event.data.attempt > call.outputAttempt) {
          call.outputAttempt = event.data.attempt;
          call.output = '';
        }
        if (event.data.attempt === call.outputAttempt) call.output += event.data.delta;
        break;
      }
      case 'tool.completed':
      case 'tool.failed': {
        const step = this.toolsStep(event.data.step);
        const call = this.call(event.data.step, event.data.callId, event.data.name, now);
        if (call.status === 'running') call.finishedOrder = ++step.finished;
        call.attempts = event.data.attempts;
        // The output is the last attempt's: one that streamed nothing in it has none.
        if (call.outputAttempt !== event.data.attempts) call.output = '';
        if (event.event === 'tool.completed') {
          call.status = 'completed';
          call.result = event.data.result;
          if (event.data.cached) call.cached = true;
        } else {
          call.status = 'failed';
          call.error = event.data.error;
        }
        break;
      }
      case 'approval.requested': {
        const step = this.approvalStep(event.data.step);
        if (!step.calls.some((call) => call.callId === event.data.callId)) step.calls.push({ callId: event.data.callId, name: event.data.name, arguments: event.data.arguments });
        break;
      }
      case 'approval.decided': {
        const step = this.approvalStep(event.data.step);
        let call = step.calls.find((entry) => entry.callId === event.data.callId);
        if (!call) {
          call = { callId: event.data.callId, name: event.data.name, arguments: '' };
          step.calls.push(call);
        }
        call.decision = event.data.decision;
        if (event.data.reason !== undefined) call.reason = event.data.reason;
        break;
      }
      case 'step.completed': {
        const step = this.steps.get(event.data.step);
        if (!step) break;
        step.done = true;
        if (step.kind === 'llm') {
          step.live = undefined;
          if (event.data.usage) step.usage = event.data.usage;
          if (event.data.cost) step.cost = event.data.cost;
          const firstTokenMs = (event.data as { firstTokenMs?: number }).firstTokenMs;
          if (firstTokenMs !== undefined) step.firstTokenMs = firstTokenMs;
        }
        break;
      }
      case 'run.completed':
        this.phase = 'completed';
        this.output = event.data.output;
        this.finish(event.data.usage, event.data.cost);
        break;
      case 'run.failed':
        this.phase = 'failed';
        this.error = event.data.error;
        this.finish(event.data.usage, event.data.cost);
        break;
      case 'run.cancelled':
        this.phase = 'cancelled';
        this.partial = event.data.partial;
        this.finish(event.data.usage, event.data.cost);
        break;
    }
  }

  get ended(): boolean {
    return this.phase === 'completed' || this.phase === 'failed' || this.phase === 'cancelled';
  }

  /** Steps in order. */
  get orderedSteps(): StepView[] {
    return [...this.steps.values()].sort((a, b) => a.step - b.step);
  }

  /** Every model step's text, in step order: what the run said. */
  get text(): string {
    return this.orderedSteps.map((step) => (step.kind === 'llm' ? step.text : '')).join('');
  }

  /** Tokens so far: exact for finished steps, estimated for the one that streams. */
  get tokens(): { total: number; estimated: boolean; cost?: Cost } {
    if (this.ended && this.usage) return { total: this.usage.totalTokens, estimated: false, ...(this.cost ? { cost: this.cost } : {}) };
    let total = 0;
    let estimated = false;
    let cost: Cost | undefined;
    const addCost = (more?: Cost) => {
      if (!more) return;
      cost = cost ? { currency: 'USD', input: cost.input + more.input, output: cost.output + more.output, total: cost.total + more.total } : { ...more };
    };
    for (const step of this.steps.values()) {
      if (step.kind !== 'llm') continue;
      if (step.usage) {
        total += step.usage.totalTokens;
        addCost(step.cost);
      } else if (step.live) {
        total += step.live.usage.totalTokens;
        estimated = true;
        addCost(step.live.cost);
      }
    }
    return { total, estimated, ...(cost ? { cost } : {}) };
  }

  /** Calls that wait for a decision now. */
  get pendingApprovals(): ApprovalCallView[] {
    return this.orderedSteps.flatMap((step) => (step.kind === 'approval' && !step.done ? step.calls.filter((call) => !call.decision) : []));
  }

  private finish(usage: Usage, cost?: Cost): void {
    this.usage = usage;
    if (cost) this.cost = cost;
    for (const step of this.steps.values()) if (step.kind === 'llm') step.live = undefined;
  }

  private llmStep(step: number, now: number): LlmStepView {
    let view = this.steps.get(step);
    if (!view || view.kind !== 'llm') {
      view = { kind: 'llm', step, attempt: 1, text: '', retries: [], startedAt: now, done: false };
      this.steps.set(step, view);
    }
    return view;
  }

  private toolsStep(step: number): ToolsStepView {
    let view = this.steps.get(step);
    if (!view || view.kind !== 'tools') {
      view = { kind: 'tools', step, calls: [], finished: 0, done: false };
      this.steps.set(step, view);
    }
    return view;
  }

  private approvalStep(step: number): ApprovalStepView {
    let view = this.steps.get(step);
    if (!view || view.kind !== 'approval') {
      view = { kind: 'approval', step, calls: [], done: false };
      this.steps.set(step, view);
    }
    return view;
  }

  private call(step: number, callId: string, name: string, now: number): ToolCallView {
    const view = this.toolsStep(step);
    let call = view.calls.find((entry) => entry.callId === callId);
    if (!call) {
      call = { callId, name, arguments: '', status: 'running', startedAt: now, output: '', outputAttempt: 1 };
      view.calls.push(call);
    }
    return call;
  }
}
