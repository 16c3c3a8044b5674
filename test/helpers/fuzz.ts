import fc from 'fast-check';
import { expect } from 'vitest';
import { TensorsafeError } from '../../src/errors.js';
import type { FormatReader } from '../../src/formats/format.js';
import { BoundedSource } from './assertions.js';

/** Byte edits for a mutation property: (position, value, aimed at the interesting range or not). */
export const EDITS = fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 }), fc.boolean()), { minLength: 1, maxLength: 6 });

/** Applies EDITS in place: an aimed edit lands in `aimed` ([start, end)) when given, any other anywhere. */
export function applyEdits(bytes: Uint8Array, edits: readonly (readonly [number, number, boolean])[], aimed?: readonly [number, number]): Uint8Array {
  for (const [at, value, aim] of edits) {
    const [lo, hi] = aim && aimed ? aimed : [0, bytes.length];
    bytes[lo + (at % (hi - lo))] = value;
  }
  return bytes;
}

/** Streams a tensor's bytes and counts them; with `maxChunk`, also checks that no chunk is larger. */
async function streamed(t: { chunks(n?: number): AsyncIterable<Uint8Array> }, chunkBytes?: number, maxChunk = false): Promise<number> {
  let total = 0;
  for await (const c of t.chunks(chunkBytes)) {
    if (maxChunk && chunkBytes !== undefined) expect(c.byteLength).toBeLessThanOrEqual(chunkBytes);
    total += c.byteLength;
  }
  return total;
}

export interface ExerciseChecks {
  /** Also check that no chunk exceeds the size asked for. */
  maxChunk?: boolean;
  /** Also check that the case finishes within this many milliseconds (a hang is a failure). */
  caseMs?: number;
}

/**
 * Opens fuzzed bytes with a format's reader: either a TensorSet whose every tensor streams exactly
 * byteLength bytes (in default and in 8-byte chunks), giving `opened`, or a coded TensorsafeError,
 * giving its code. Any other exception fails the property (BoundedSource throws a plain Error on a
 * read outside the file).
 */
export async function exerciseReader(reader: FormatReader, bytes: Uint8Array, name: string, checks: ExerciseChecks = {}): Promise<string> {
  const started = Date.now();
  try {
    const { tensors } = await reader.open!(new BoundedSource(bytes, name));
    for (const t of tensors.tensors) {
      expect(await streamed(t, undefined, checks.maxChunk)).toBe(t.byteLength);
      expect(await streamed(t, 8, checks.maxChunk)).toBe(t.byteLength);
    }
    return 'opened';
  } catch (e) {
    if (!(e instanceof TensorsafeError) || !e.code || !e.message) throw e;
    return e.code;
  } finally {
    if (checks.caseMs !== undefined) expect(Date.now() - started).toBeLessThan(checks.caseMs);
  }
}

/**
 * Runs a mutation property over seed files: each case copies a seed and applies EDITS (an edit either
 * flips one bit of, or sets, the byte at its position modulo the length), then `exercise`s it. Returns
 * how often each outcome (`opened` or an error code) was seen, for the caller's assertions.
 */
export async function mutationOutcomes(seeds: readonly Uint8Array[], exercise: (bytes: Uint8Array) => Promise<string>, numRuns: number): Promise<Map<string, number>> {
  const outcomes = new Map<string, number>();
  await fc.assert(
    fc.asyncProperty(fc.integer({ min: 0, max: seeds.length - 1 }), EDITS, async (i, edits) => {
      const b = seeds[i]!.slice();
      for (const [at, value, xor] of edits) b[at % b.length] = xor ? b[at % b.length]! ^ (1 << (value % 8)) : value;
      const o = await exercise(b);
      outcomes.set(o, (outcomes.get(o) ?? 0) + 1);
    }),
    { numRuns },
  );
  return outcomes;
}
