import type { ModelSummary } from '../protocol.js';
import type { Engine } from './engine.js';

/** What every part of the page shares: the worker, and the models open in it (in the order they were opened). */
export class PageState {
  readonly models: ModelSummary[] = [];
  private readonly listeners = new Set<() => void>();

  constructor(readonly engine: Engine) {}

  add(models: readonly ModelSummary[]): void {
    this.models.push(...models);
    this.changed();
  }

  remove(id: string): void {
    const i = this.models.findIndex((m) => m.id === id);
    if (i >= 0) this.models.splice(i, 1);
    void this.engine.run({ job: 'close', model: id }).catch(() => undefined);
    this.changed();
  }

  /** Hears every change of the list of models (tools that pick models refresh their choices). */
  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private changed(): void {
    for (const l of this.listeners) l();
  }
}

/** What a section of a model's card is given. */
export interface CardContext {
  readonly state: PageState;
  readonly model: ModelSummary;
  /** Where a section shows something below the table (a tensor's values). */
  readonly detail: HTMLElement;
}

/** A section of a model's card (convert); null when it does not apply to the model. */
export type CardSection = (context: CardContext) => HTMLElement | null;

/** A tool of the page that works on one or more open models or files (verify, hash, sign). */
export interface PageTool {
  readonly id: string;
  readonly title: string;
  render(state: PageState): HTMLElement;
}
