import { TensorsafeError, type ErrorCode } from '../../errors.js';
import type { FromWorker, ProgressInfo, Request, ToWorker } from '../protocol.js';

/** A job failed in the worker: the library's error, its stable code and message as the CLI would print them. */
function jobError(code: ErrorCode, message: string): TensorsafeError {
  return new TensorsafeError(code, message);
}

/** A job started in the worker: its result, and a way to cancel it. */
export interface Job<T> {
  readonly result: Promise<T>;
  cancel(): void;
}

/**
 * The page's side of the worker (worker/worker.ts): every job is posted there, so parsing, scanning,
 * converting and hashing never block the page.
 */
export class Engine {
  private readonly worker: Worker;
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: unknown) => void; progress?: ((p: ProgressInfo) => void) | undefined }>();

  constructor(url = new URL('./worker.js', import.meta.url)) {
    this.worker = new Worker(url, { type: 'module', name: 'tensorsafe' });
    this.worker.addEventListener('message', (event: MessageEvent<FromWorker>) => {
      const m = event.data;
      const job = this.pending.get(m.id);
      if (job === undefined) return;
      if ('progress' in m) job.progress?.(m.progress);
      else {
        this.pending.delete(m.id);
        if ('error' in m) job.reject(jobError(m.error.code, m.error.message));
        else job.resolve(m.result);
      }
    });
    this.worker.addEventListener('error', (event) => {
      for (const job of this.pending.values()) job.reject(jobError('InternalError', `the worker stopped: ${event.message}`));
      this.pending.clear();
    });
  }

  /** Starts a job; `progress` hears how far it is. */
  start<T>(request: Request, progress?: (p: ProgressInfo) => void): Job<T> {
    const id = this.nextId++;
    const result = new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject, progress });
    });
    this.worker.postMessage({ id, request } satisfies ToWorker);
    return { result, cancel: () => this.worker.postMessage({ id, cancel: true } satisfies ToWorker) };
  }

  run<T>(request: Request, progress?: (p: ProgressInfo) => void): Promise<T> {
    return this.start<T>(request, progress).result;
  }
}
