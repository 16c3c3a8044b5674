import type { ByteSource } from '../../io/byte-source.js';
import { FormatProblem } from '../../io/format-problem.js';
import type { ScanContext } from '../findings.js';
import { at, Findings } from '../scan-rules.js';
import { readFlaxState, type FlaxState } from './state.js';

/**
 * Flax msgpack checkpoints: maps, arrays, scalars and array extensions, all data; msgpack_restore runs
 * nothing in them. The rules check the structure as msgpack.ts walks it; a problem is a finding.
 *
 * Rules: `flax/valid` (info); `flax/malformed`, `flax/limit-exceeded` (suspicious).
 * Misses: the values.
 */
export async function scanFlax(source: ByteSource, ctx: ScanContext, parsed?: FlaxState): Promise<void> {
  const findings = new Findings(ctx);
  let state = parsed;
  if (state === undefined) {
    try {
      state = await readFlaxState(source);
    } catch (e) {
      if (!(e instanceof FormatProblem)) throw e;
      findings.problem('flax', e, ctx.file, 'the Flax msgpack checkpoint');
    }
  }
  if (state !== undefined) {
    findings.add('info', 'flax/valid', `Flax msgpack checkpoint of ${state.tensors.length} arrays and ${state.leftOut.length} other values; it holds data only and cannot carry code`, at(ctx.file, 0));
  }
  findings.flush();
}
