import { isTensorsafeError, type ErrorCode } from '../../errors.js';
import type { FromWorker, ToWorker } from '../protocol.js';
import { JOBS, type JobHandler } from './jobs.js';

/**
 * The page's worker: every job (open, scan, inspect, convert, verify, hash, sign) runs here, off the
 * page's thread. One message per request; progress messages while it runs; one result or error.
 */

interface WorkerScope {
  postMessage(message: FromWorker, transfer?: Transferable[]): void;
  addEventListener(type: 'message', listener: (event: MessageEvent<ToWorker>) => void): void;
}
const scope = self as unknown as WorkerScope;

/** Jobs running, by id: cancelling one aborts its signal. */
const running = new Map<number, AbortController>();

/** Progress is posted at most this often (ms): the page cannot show more, and every message costs. */
const PROGRESS_INTERVAL_MS = 100;

scope.addEventListener('message', (event) => {
  const message = event.data;
  if ('cancel' in message) {
    running.get(message.id)?.abort();
    return;
  }
  const { id, request } = message;
  const controller = new AbortController();
  running.set(id, controller);
  let lastProgress = 0;
  const handler = JOBS[request.job] as JobHandler;
  handler(request, {
    signal: controller.signal,
    progress: (p) => {
      const now = Date.now();
      if (now - lastProgress < PROGRESS_INTERVAL_MS && p.done < p.total) return;
      lastProgress = now;
      scope.postMessage({ id, progress: p });
    },
  })
    .then((result) => scope.postMessage({ id, result }))
    .catch((e: unknown) => {
      const error: { code: ErrorCode; message: string } = isTensorsafeError(e)
        ? { code: e.code, message: e.message }
        : controller.signal.aborted
          ? { code: 'Aborted', message: 'cancelled' }
          : { code: 'InternalError', message: `internal error (a bug in tensorsafe; please report it): ${e instanceof Error ? (e.stack ?? e.message) : String(e)}` };
      scope.postMessage({ id, error });
    })
    .finally(() => running.delete(id));
});
