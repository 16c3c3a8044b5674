import * as fs from 'node:fs';
import * as path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { numpyReader } from '../src/formats/numpy/reader.js';
import { applyEdits, EDITS, exerciseReader } from './helpers/fuzz.js';

/**
 * Fuzzing the .npy/.npz reader: mutated real files (numpy's own), headers built from random parts,
 * and truncations either open as a TensorSet whose every tensor streams exactly byteLength bytes (in
 * default and in small chunks), or fail with a coded TensorsafeError: never another exception, a
 * hang, or a read outside the file.
 */

const DIR = path.join(import.meta.dirname, 'fixtures', 'formats', 'numpy');
const SEEDS = ['dtype_f4.npy', 'big_c8.npy', 'fortran_i2_3d.npy', 'fortran_big_f8.npy', 'scalar_f8.npy', 'empty_2d_i8.npy', 'version3.npy', 'object.npy', 'stored.npz', 'compressed.npz'].map(
  (f) => new Uint8Array(fs.readFileSync(path.join(DIR, f))),
);

const exercise = (bytes: Uint8Array): Promise<string> => exerciseReader(numpyReader, bytes, 'fuzz.npy');

/** The offset where a .npy file's data starts (after its header), or its size. */
function dataOffset(b: Uint8Array): number {
  if (b[0] !== 0x93) return b.length;
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  return b[6] === 1 ? 10 + dv.getUint16(8, true) : 12 + dv.getUint32(8, true);
}

/** A .npy file with this header text (padded as numpy pads it) and these data bytes. */
function npy(header: string, data: Uint8Array, version = 1): Uint8Array {
  const text = Buffer.from(header, version === 3 ? 'utf8' : 'latin1');
  const pre = version === 1 ? 10 : 12;
  const pad = (64 - ((pre + text.length + 1) % 64)) % 64;
  const out = new Uint8Array(pre + text.length + pad + 1 + data.length);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, version, 0]);
  const dv = new DataView(out.buffer);
  if (version === 1) dv.setUint16(8, text.length + pad + 1, true);
  else dv.setUint32(8, text.length + pad + 1, true);
  out.set(text, pre);
  out.fill(0x20, pre + text.length, pre + text.length + pad);
  out[pre + text.length + pad] = 0x0a;
  out.set(data, pre + text.length + pad + 1);
  return out;
}

const DESCRS = ["'<f4'", "'>f8'", "'|b1'", "'<i2'", "'>c8'", "'<c16'", "'|O'", "'<U3'", "'|V4'", "'<M8[s]'", "'f'", "'u'", "'<f16'", "[('a','<i4')]", "'i4,O'", "'(2,3)f4'", "'float32'", "'=u8'", "'|S0'", "''", "'<f4[ns]'", '3', 'None'];
const SHAPES = ['()', '(0,)', '(3,)', '(2, 3)', '(3, 2, 2)', '(1, 1, 5)', '(4, 0, 2)', '(9999999999,)', '(-1,)', '(2, 3, 4, 5, 6)', "('a',)", '(1,' + ' 1,'.repeat(70) + ')', '[2, 3]'];

describe('npy/npz reader fuzz', () => {
  it('mutated numpy files: bytes anywhere, or aimed at the header', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: SEEDS.length - 1 }),
        EDITS,
        async (which, edits) => {
          const bytes = SEEDS[which]!.slice();
          // Aimed edits land in the header.
          await exercise(applyEdits(bytes, edits, [0, Math.min(dataOffset(bytes), bytes.length)]));
        },
      ),
      { numRuns: 1500 },
    );
  });

  it('headers from random parts, with random data lengths', async () => {
    const outcomes = new Set<string>();
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...DESCRS),
        fc.constantFrom(...SHAPES),
        fc.constantFrom('True', 'False', '1', 'None'),
        fc.integer({ min: 0, max: 200 }),
        fc.constantFrom(1, 2, 3),
        fc.boolean(),
        async (descr, shape, fortran, n, version, reorder) => {
          const keys = [`'descr': ${descr}`, `'fortran_order': ${fortran}`, `'shape': ${shape}`];
          if (reorder) keys.reverse();
          const data = Uint8Array.from({ length: n }, (_, i) => (i * 29 + 7) & 255);
          outcomes.add(await exercise(npy(`{${keys.join(', ')}, }`, data, version)));
        },
      ),
      { numRuns: 1500 },
    );
    // The generator reaches both sides: tensors read, and refusals of several kinds.
    expect(outcomes.has('opened')).toBe(true);
    for (const code of ['InvalidNumpy', 'ObjectArray', 'UnsupportedTensor', 'NumpyLimit']) expect(outcomes).toContain(code);
  });

  it('every truncation of every seed', async () => {
    for (const seed of SEEDS) {
      for (let n = 0; n < seed.length; n += Math.max(1, seed.length >> 7)) await exercise(seed.subarray(0, n));
    }
  });
});
