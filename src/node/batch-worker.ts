import { parentPort } from 'node:worker_threads';
import { convertOne, type WorkerMessage, type WorkerRequest } from './batch.js';

/** A batch conversion worker: converts the models it is sent, one at a time, and reports back. */
parentPort?.on('message', (request: WorkerRequest) => {
  void convertOne(request.model, request.options, (done) => parentPort!.postMessage({ kind: 'bytes', done } satisfies WorkerMessage)).then((result) =>
    parentPort!.postMessage({ kind: 'result', result } satisfies WorkerMessage),
  );
});
