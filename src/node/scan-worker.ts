import { parentPort } from 'node:worker_threads';
import { scanTargetHere } from './scan-file.js';

/** Scans the paths and URLs it is sent, off the main thread (see openTargetScanner), one at a time, in order. */
let queue: Promise<void> = Promise.resolve();
parentPort!.on('message', (m: { id: number; target: string }) => {
  queue = queue.then(async () => parentPort!.postMessage({ id: m.id, report: await scanTargetHere(m.target) }));
});
