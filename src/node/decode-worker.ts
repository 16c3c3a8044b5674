import { parentPort } from 'node:worker_threads';
import { TensorsafeError } from '../errors.js';
import { decodeBlocks } from '../tensor/block-decoder.js';
import type { DecodeReply, DecodeRequest } from './decode-workers.js';

/**
 * Decodes ggml blocks for a DecodeWorkerPool (decode-workers.ts): each request names a type of
 * tensor/ggml-blocks.ts (a name only: nothing from the file is run or loaded), the floats go back
 * transferred, and a failure goes back as a coded error.
 */
parentPort!.on('message', (m: DecodeRequest) => {
  try {
    decodeBlocks(m.typeName, m.src, m.blocks, m.out);
    parentPort!.postMessage({ id: m.id, src: m.src, out: m.out } satisfies DecodeReply, [m.src.buffer as ArrayBuffer, m.out.buffer as ArrayBuffer]);
  } catch (e) {
    const error = e instanceof TensorsafeError ? { code: e.code, message: e.message, location: e.location } : { code: 'InternalError' as const, message: String((e as Error)?.message ?? e) };
    parentPort!.postMessage({ id: m.id, error } satisfies DecodeReply);
  }
});
