import { useState } from 'react';
import { Link } from 'wouter';
import { ApiError } from '../../../src/client';
import { useApi } from '../api-context';
import { cost, tokens } from '../format';
import { ApprovalCard } from './approval-card';
import { LlmStep } from './llm-step';
import type { RunModel, StepView } from './run-model';
import { TemporalLink } from './temporal-link';
import { ToolCard } from './tool-card';
import { useRun } from './use-run';

// /runs/:runId: a run, live to the token: each step as it happens, tools side by side, approvals
// to decide, the running token count and cost, cancel, and links into the Temporal Web UI.

export function RunPage({ runId }: { runId: string }) {
  const { model, error, details, links, refreshLinks } = useRun(runId);
  const runLink = links?.run ?? details?.links.temporalUi;

  if (error instanceof ApiError && error.status === 404) {
    return (
      <p className="notice error" role="alert">
        No run <code>{runId}</code> here ({error.code}). <Link href="/">See the runs</Link>.
      </p>
    );
  }
  const steps = model.orderedSteps;
  const lastStep = steps.at(-1)?.step;
  return (
    <article className="run" aria-labelledby="run-title">
      <RunHeader model={model} runLink={runLink} />
      {error && (
        <p className="notice error" role="alert">
          The stream stopped: {error instanceof ApiError ? `${error.code}: ${error.message}` : error.message}. Reload to read on.
        </p>
      )}
      <section className="task panel" aria-label="Task">
        <h2 className="label">Task</h2>
        <p className="input">{model.input || details?.input}</p>
      </section>
      {model.phase === 'queued' && (
        <p className="notice" role="status">
          Queued: {model.queuedReason}
        </p>
      )}
      <ol className="steps" aria-label="Steps">
        {steps.map((step) => (
          <li key={step.step}>
            <Step step={step} model={model} streaming={!model.ended && step.step === lastStep} links={links} runLink={runLink} onWantLinks={refreshLinks} />
          </li>
        ))}
      </ol>
      <RunEnd model={model} />
    </article>
  );
}

function Step({ step, model, streaming, links, runLink, onWantLinks }: { step: StepView; model: RunModel; streaming: boolean; links?: { steps: Record<string, string>; calls: Record<string, string> }; runLink?: string; onWantLinks: () => void }) {
  if (step.kind === 'llm') return <LlmStep step={step} version={step.version} streaming={streaming} link={links?.steps[String(step.step)]} runLink={runLink} onWantLinks={onWantLinks} />;
  if (step.kind === 'tools') {
    return (
      <section className="step tools" aria-labelledby={`step-${step.step}-title`} data-step={step.step}>
        <header>
          <h3 id={`step-${step.step}-title`}>
            Step {step.step} · {step.calls.length} tool {step.calls.length === 1 ? 'call' : 'calls'}
          </h3>
          <span className="facts">
            {step.finished}/{step.calls.length} finished
            <TemporalLink href={links?.steps[String(step.step)]} fallback={runLink} onWanted={onWantLinks} label={`Step ${step.step} in the Temporal Web UI`} />
          </span>
        </header>
        <div className="tool-grid">
          {step.calls.map((call) => (
            <ToolCard key={call.callId} call={call} version={step.version} link={links?.calls[call.callId]} runLink={runLink} onWantLinks={onWantLinks} />
          ))}
        </div>
      </section>
    );
  }
  return (
    <section className="step approval" aria-labelledby={`step-${step.step}-title`} data-step={step.step}>
      <header>
        <h3 id={`step-${step.step}-title`}>Step {step.step} · approval</h3>
      </header>
      <div className="tool-grid">
        {step.calls.map((call) => (
          <ApprovalCard key={call.callId} runId={model.runId} call={{ ...call }} open={!model.ended && !step.done} />
        ))}
      </div>
    </section>
  );
}

const phaseLabels: Record<RunModel['phase'], string> = {
  connecting: 'connecting',
  queued: 'queued',
  running: 'running',
  completed: 'completed',
  failed: 'failed',
  cancelled: 'cancelled',
};

function RunHeader({ model, runLink }: { model: RunModel; runLink?: string }) {
  const { client } = useApi();
  const [cancelling, setCancelling] = useState(false);
  const [cancelError, setCancelError] = useState<string>();
  const counted = model.tokens;
  const cancel = async () => {
    setCancelling(true);
    setCancelError(undefined);
    try {
      await client.cancel(model.runId);
    } catch (caught) {
      setCancelError(caught instanceof ApiError ? `${caught.code}: ${caught.message}` : String(caught));
      setCancelling(false);
    }
  };
  return (
    <header className="run-header">
      <div>
        <h1 id="run-title">
          Run <code>{model.runId}</code>
        </h1>
        <p className="facts">
          <span className={`badge status ${model.phase}`} data-testid="run-status">
            {phaseLabels[model.phase]}
          </span>
          {model.model && <span>{model.model}</span>}
          <span data-testid="run-tokens" title={counted.estimated ? 'estimated while a step streams' : 'exact'}>
            {counted.estimated ? '~' : ''}
            {tokens(counted.total)} tokens
          </span>
          <span data-testid="run-cost">{cost(counted.cost)}</span>
          <TemporalLink href={runLink} label="This run in the Temporal Web UI" />
        </p>
      </div>
      {!model.ended && model.phase !== 'connecting' && (
        <button type="button" className="danger" onClick={() => void cancel()} disabled={cancelling}>
          {cancelling ? 'Cancelling…' : 'Cancel run'}
        </button>
      )}
      {cancelError && (
        <p className="error" role="alert">
          {cancelError}
        </p>
      )}
    </header>
  );
}

function RunEnd({ model }: { model: RunModel }) {
  if (model.phase === 'completed') {
    return (
      <section className="end completed panel" aria-label="Outcome" data-testid="run-end">
        <h2 className="label">Completed</h2>
      </section>
    );
  }
  if (model.phase === 'failed') {
    return (
      <section className="end failed panel" role="alert" data-testid="run-end">
        <h2 className="label">Failed</h2>
        <p>
          {model.error?.code}: {model.error?.message}
        </p>
      </section>
    );
  }
  if (model.phase === 'cancelled') {
    return (
      <section className="end cancelled panel" data-testid="run-end">
        <h2 className="label">Cancelled</h2>
        {model.partial ? <p>It had written: {model.partial}</p> : <p>Nothing was written before the cancel.</p>}
      </section>
    );
  }
  return null;
}
