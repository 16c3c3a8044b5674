import { parentPort, workerData } from 'node:worker_threads';
import { IoError, type IoErrorCode } from '../errors.js';
import { hashFilesHere, type HashWorkerMessage } from './provenance.js';

/** Hashes source files off the main thread (see hashFiles), and reports the digests or the error. */
const { files } = workerData as { files: string[] };
hashFilesHere(files).then(
  (digests) => parentPort!.postMessage({ digests } satisfies HashWorkerMessage),
  (e: unknown) => {
    // hashFilesHere throws IoErrors (fileError, Aborted); anything else is reported as an I/O failure with its message.
    const code: IoErrorCode = e instanceof IoError ? e.code : 'IoError';
    const path = (e instanceof IoError ? e.location : undefined) ?? files[0]!;
    parentPort!.postMessage({ error: { path, message: e instanceof Error ? e.message : String(e), code } } satisfies HashWorkerMessage);
  },
);
