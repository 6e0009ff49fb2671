import { memo } from 'react';
import { cost, duration, tokens } from '../format';
import type { LlmStepView } from './run-model';
import { TemporalLink } from './temporal-link';

// A model step: its text as it streams, time to first token, usage and cost, and its retries
// (a retried attempt's partial text is dropped, and the page says so).

interface Props {
  step: LlmStepView;
  version?: number;
  streaming: boolean;
  link?: string;
  runLink?: string;
  onWantLinks: () => void;
}

export const LlmStep = memo(function LlmStep({ step, streaming, link, runLink, onWantLinks }: Props) {
  const firstTokenMs = step.firstTokenMs ?? (step.firstTextAt !== undefined && step.startedAt !== undefined ? step.firstTextAt - step.startedAt : undefined);
  const usage = step.usage ?? step.live?.usage;
  const stepCost = step.cost ?? step.live?.cost;
  return (
    <section className="step llm" aria-labelledby={`step-${step.step}-title`} data-step={step.step}>
      <header>
        <h3 id={`step-${step.step}-title`}>Step {step.step} · model</h3>
        <span className="facts">
          {firstTokenMs !== undefined && <span title="time to first token">TTFT {duration(firstTokenMs)}</span>}
          {usage && (
            <span title={step.usage ? 'tokens (exact)' : 'tokens (estimated while it streams)'} data-testid="step-tokens">
              {step.usage ? '' : '~'}
              {tokens(usage.totalTokens)} tokens
            </span>
          )}
          {stepCost && <span>{cost(stepCost)}</span>}
          {step.attempt > 1 && <span className="badge retry">attempt {step.attempt}</span>}
          <TemporalLink href={link} fallback={runLink} onWanted={onWantLinks} label={`Step ${step.step} in the Temporal Web UI`} />
        </span>
      </header>
      {step.retries.map((retry) => (
        <p key={retry.attempt} className="retry-note" role="note" data-testid="retry-note">
          Retried ({retry.reason.replace(/; discard this step's partial text$/, '')}): attempt {retry.attempt - 1}&apos;s text was discarded.
        </p>
      ))}
      <div className="text" data-testid="step-text" data-step={step.step} aria-busy={streaming && !step.done}>
        {step.text}
        {streaming && !step.done && <span className="cursor" aria-hidden="true" />}
      </div>
      {step.done && step.text === '' && <p className="asked">No text: the model asked for tools.</p>}
    </section>
  );
});
