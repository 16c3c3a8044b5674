import { parentPort, workerData } from 'node:worker_threads';
import { hashFilesHere } from './provenance.js';

/** Hashes source files off the main thread (see hashFiles), and reports the digests or the error. */
const { files } = workerData as { files: string[] };
hashFilesHere(files).then(
  (digests) => parentPort!.postMessage({ digests }),
  (e: { location?: string; message?: string; code?: string }) =>
    parentPort!.postMessage({ error: { path: e.location ?? files[0], message: e.message ?? String(e), code: e.code ?? 'IoError' } }),
);
