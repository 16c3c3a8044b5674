import { parentPort } from 'node:worker_threads';
import { TensorsafeError } from '../errors.js';
import { GGML_BLOCK_FORMATS } from '../tensor/ggml-blocks.js';
import type { DecodeReply, DecodeRequest } from './decode-workers.js';

/**
 * Decodes ggml blocks for a DecodeWorkerPool (decode-workers.ts): each request names a type of
 * tensor/ggml-blocks.ts (a name only: nothing from the file is run or loaded), the floats go back
 * transferred, and a failure goes back as a coded error.
 */
parentPort!.on('message', (m: DecodeRequest) => {
  try {
    const format = GGML_BLOCK_FORMATS.get(m.typeName);
    if (format === undefined) throw new TensorsafeError('InternalError', `a decoding worker was asked for ggml type ${JSON.stringify(m.typeName)}, which it does not decode`);
    if (m.src.byteLength < m.blocks * format.bytes || m.out.length < m.blocks * format.elements) {
      throw new TensorsafeError('InternalError', `a decoding worker was given ${m.src.byteLength} bytes and room for ${m.out.length} floats for ${m.blocks} ${m.typeName} blocks`);
    }
    format.decode(m.src, m.blocks, m.out);
    parentPort!.postMessage({ id: m.id, src: m.src, out: m.out } satisfies DecodeReply, [m.src.buffer as ArrayBuffer, m.out.buffer as ArrayBuffer]);
  } catch (e) {
    const error = e instanceof TensorsafeError ? { code: e.code, message: e.message, location: e.location } : { code: 'InternalError' as const, message: String((e as Error)?.message ?? e) };
    parentPort!.postMessage({ id: m.id, error } satisfies DecodeReply);
  }
});
