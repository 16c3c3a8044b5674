import { fmt } from '../../tensor/compare-tensors.js';
import type { ProgressInfo, Request } from '../protocol.js';
import { announce, h } from './dom.js';
import { isTensorsafeError } from '../../errors.js';
import type { Engine, Job } from './engine.js';

/**
 * What the page's tools and the values panel share: a job run in the worker with a labelled progress
 * bar, a cancel button, a status line (role=status) and errors shown with their code; file fields
 * with labels; downloads of what a tool made.
 */

let nextId = 0;
/** A unique id for a control and its label. */
export function uid(prefix: string): string {
  return `${prefix}-${++nextId}`;
}

/** A running job's view: progress, cancel, status, error. */
export class JobPanel {
  readonly element: HTMLElement;
  readonly status: HTMLElement;
  private readonly progress: HTMLProgressElement;
  private readonly progressRow: HTMLElement;
  private readonly progressLabel: HTMLElement;
  private readonly error: HTMLElement;
  private current: Job<unknown> | undefined;

  constructor(private readonly what: string, testid: string) {
    const progressId = uid('progress');
    this.progress = h('progress', { id: progressId, max: 1, value: 0 });
    this.progressLabel = h('label', { for: progressId, className: 'progress-label' }, `${what}…`);
    const cancel = h('button', { type: 'button', className: 'secondary', 'data-testid': `${testid}-cancel`, onclick: () => this.cancel() }, 'Cancel');
    this.progressRow = h('div', { className: 'job-progress row', hidden: true }, this.progressLabel, this.progress, cancel);
    this.status = h('div', { className: 'job-status', role: 'status', 'data-testid': `${testid}-status` });
    this.error = h('p', { className: 'error', role: 'alert', hidden: true, 'data-testid': `${testid}-error` });
    this.element = h('div', { className: 'job' }, this.progressRow, this.error, this.status);
  }

  get running(): boolean {
    return this.current !== undefined;
  }

  cancel(): void {
    this.current?.cancel();
  }

  /** Runs a job; resolves to its result, or undefined when it failed or was cancelled (the panel says which). */
  async run<T>(engine: Engine, request: Request): Promise<T | undefined> {
    this.cancel();
    this.error.hidden = true;
    this.status.replaceChildren();
    this.progress.value = 0;
    this.progress.removeAttribute('value'); // indeterminate until the first progress message
    this.progressLabel.textContent = `${this.what}…`;
    this.progressRow.hidden = false;
    const job = engine.start<T>(request, (p) => this.show(p));
    this.current = job as Job<unknown>;
    try {
      return await job.result;
    } catch (e) {
      if (this.current !== job) return undefined; // replaced by a newer run
      const code = isTensorsafeError(e) ? e.code : 'InternalError';
      const message = isTensorsafeError(e) ? e.message : String(e);
      this.fail(code, message);
      return undefined;
    } finally {
      if (this.current === job) {
        this.current = undefined;
        this.progressRow.hidden = true;
      }
    }
  }

  /** Shows an error (a stable code and its message), as the CLI prints it. */
  fail(code: string, message: string): void {
    this.error.replaceChildren(h('strong', {}, code), ': ', code === 'Aborted' ? 'cancelled' : message);
    this.error.hidden = false;
    announce(`${this.what}: ${code}`);
  }

  private show(p: ProgressInfo): void {
    if (p.total > 0) {
      this.progress.max = p.total;
      this.progress.value = p.done;
    }
    const pct = p.total > 0 ? ` ${Math.floor((100 * p.done) / p.total)}%` : '';
    this.progressLabel.textContent = `${this.what}${pct}${p.detail ? `: ${p.detail}` : ''}`;
  }
}

/** A labelled file field. */
export interface FileField {
  readonly element: HTMLElement;
  readonly input: HTMLInputElement;
  file(): File | undefined;
}

export function fileField(label: string, testid: string, accept?: string, hint?: string): FileField {
  const id = uid(testid);
  const input = h('input', { type: 'file', id, 'data-testid': testid, ...(accept ? { accept } : {}) });
  const element = h('div', { className: 'field' }, h('label', { for: id }, label), input, hint ? h('p', { className: 'hint' }, hint) : null);
  return { element, input, file: () => input.files?.[0] };
}

/** Saves text or bytes under a name (a Blob URL clicked as a download; nothing leaves the machine). */
export function download(name: string, content: string | Blob, type = 'application/octet-stream'): void {
  const blob = typeof content === 'string' ? new Blob([content], { type }) : content;
  const url = URL.createObjectURL(blob);
  const a = h('a', { href: url, download: name, className: 'visually-hidden' });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

/** A number as the CLI's reports write it: 6 significant digits, exponents outside 1e-3..1e4. */
export function formatNumber(x: number): string {
  if (x === Infinity) return '+inf';
  if (x === -Infinity) return '-inf';
  return fmt(x);
}
