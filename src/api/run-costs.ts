import type { StreamEvent } from '../shared/events';
import { addCosts, costFor, type Cost, type PriceTable } from '../shared/prices';
import { addUsage, emptyUsage, type ModelUsage, type StepRecord, type Usage } from '../shared/run-types';
import type { RunView } from './run-reader';

// Costs, computed where they are read: from usage and the model that answered, at this API's
// prices (MODEL_PRICES). Nothing priced is stored, so a price change never touches a history, and
// a rebuilt stream prices its events as a live one does. A model without a price has no cost;
// a run with any part on such a model has none either (a partial sum would read as the whole).

export class RunCosts {
  /** usage.updated events as priced, one object per event for all subscribers (its JSON is made once). */
  private readonly priced = new WeakMap<object, StreamEvent>();

  constructor(readonly prices: PriceTable) {}

  /** The run's usage per model: runs recorded before modelUsage existed count on the run's model. */
  private usageByModel(view: Pick<RunView, 'model' | 'usage' | 'modelUsage'>): ModelUsage[] {
    const known = view.modelUsage ?? [];
    const counted = known.reduce((sum, entry) => addUsage(sum, entry.usage), emptyUsage());
    const rest = { promptTokens: view.usage.promptTokens - counted.promptTokens, completionTokens: view.usage.completionTokens - counted.completionTokens, totalTokens: 0 };
    rest.totalTokens = rest.promptTokens + rest.completionTokens;
    return rest.promptTokens > 0 || rest.completionTokens > 0 ? [...known, { model: view.model, usage: rest }] : known;
  }

  /** The run's cost, a streaming step's estimate included; undefined with no prices or an unpriced model. */
  ofRun(view: Pick<RunView, 'model' | 'usage' | 'modelUsage'>, streaming?: { model: string; usage: Usage }): Cost | undefined {
    if (this.prices.size === 0) return undefined;
    const parts = [...this.usageByModel(view), ...(streaming ? [streaming] : [])].filter((part) => part.usage.promptTokens + part.usage.completionTokens > 0);
    // Nothing used yet: 0 at the run's model's prices, if it has any.
    if (parts.length === 0) parts.push({ model: view.model, usage: emptyUsage() });
    return addCosts(parts.map((part) => costFor(this.prices, part.model, part.usage)));
  }

  /** A finished model step's cost, at the prices of the model that answered it. */
  ofStep(record: StepRecord, runModel: string): Cost | undefined {
    if (record.kind !== 'llm' || !record.usage || this.prices.size === 0) return undefined;
    return costFor(this.prices, record.model ?? runModel, record.usage);
  }

  /** Durable events with costs: step.completed (its model's prices) and the run's end. */
  priceDurable(events: StreamEvent[], view: RunView): StreamEvent[] {
    if (this.prices.size === 0) return events;
    return events.map((event) => {
      if (event.event === 'step.completed' && event.data.usage) {
        const record = view.steps.find((step) => step.step === event.data.step);
        const cost = record ? this.ofStep(record, view.model) : undefined;
        return cost ? { ...event, data: { ...event.data, cost } } : event;
      }
      if (event.event === 'run.completed' || event.event === 'run.failed' || event.event === 'run.cancelled') {
        const cost = this.ofRun(view);
        return cost ? ({ ...event, data: { ...event.data, cost } } as StreamEvent) : event;
      }
      return event;
    });
  }

  /** A live usage.updated with the cost of its estimate (other events pass as they are). */
  priceLive(event: StreamEvent): StreamEvent {
    if (event.event !== 'usage.updated' || this.prices.size === 0) return event;
    let priced = this.priced.get(event);
    if (!priced) {
      const cost = costFor(this.prices, event.data.model, event.data.usage);
      priced = cost ? { ...event, data: { ...event.data, cost } } : event;
      this.priced.set(event, priced);
    }
    return priced;
  }
}
