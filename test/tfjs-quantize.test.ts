import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { affineQuantization, NoAffineRange, quantizeAffine, quantizeFloat16, valueRange } from '../src/tensor/tfjs-quantize.js';

/**
 * The TF.js quantizers against tfjs-converter's own quantization.py (run by
 * scripts/make-tfjs-quantize-expected.py on the committed inputs): the codes bit for bit (their
 * SHA-256), and the manifest's min and scale as the same doubles.
 */

const DIR = path.join(import.meta.dirname, 'fixtures', 'tfjs-quantize');
interface Expected {
  cases: { name: string; offset: number; count: number; types: Record<string, { sha256: string; min?: number; scale?: number; refused?: string }> }[];
}
const expected = JSON.parse(fs.readFileSync(path.join(DIR, 'expected.json'), 'utf8')) as Expected;
const inputs = fs.readFileSync(path.join(DIR, 'inputs.bin'));
const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

function valuesOf(offset: number, count: number): Float32Array {
  // A copy: the committed bytes need not be 4-aligned in the Buffer pool.
  return new Float32Array(inputs.buffer.slice(inputs.byteOffset + offset, inputs.byteOffset + offset + 4 * count));
}

describe('TF.js quantization equals tfjs-converter quantize_weights', () => {
  it('covers every type on every finite case', () => {
    expect(expected.cases.length).toBeGreaterThanOrEqual(15);
    expect(expected.cases.filter((c) => c.types['uint8'] && c.types['uint16']).length).toBeGreaterThanOrEqual(14);
  });

  for (const c of expected.cases) {
    for (const [type, want] of Object.entries(c.types)) {
      it(`${c.name} as ${type}`, () => {
        const values = valuesOf(c.offset, c.count);
        if (type === 'float16') {
          expect(sha256(quantizeFloat16(values))).toBe(want.sha256);
          return;
        }
        const range = { min: Infinity, max: -Infinity, seen: 0 };
        // In two parts, as a stream gives them.
        valueRange(values.subarray(0, 7), range);
        valueRange(values.subarray(7), range);
        if (want.refused !== undefined) {
          // NumPy would divide by zero: refused, never written.
          expect(() => affineQuantization(type as 'uint8' | 'uint16', range.min, range.max)).toThrow(NoAffineRange);
          return;
        }
        const q = affineQuantization(type as 'uint8' | 'uint16', range.min, range.max);
        expect(Object.is(q.min, want.min), `min ${q.min} vs ${want.min}`).toBe(true);
        expect(Object.is(q.scale, want.scale), `scale ${q.scale} vs ${want.scale}`).toBe(true);
        const whole = quantizeAffine(q, values);
        expect(sha256(whole)).toBe(want.sha256);
        // Chunked codes are the same codes.
        const parts = [quantizeAffine(q, values.subarray(0, 13)), quantizeAffine(q, values.subarray(13))];
        expect(sha256(Buffer.concat(parts))).toBe(want.sha256);
      });
    }
  }

  it('refuses NaN and infinity for uint8/uint16, naming the element', () => {
    const range = { min: Infinity, max: -Infinity, seen: 0 };
    expect(() => valueRange(Float32Array.of(1, 2, NaN), range)).toThrow(NoAffineRange);
    expect(() => valueRange(Float32Array.of(1, -Infinity), { min: Infinity, max: -Infinity, seen: 5 })).toThrow(/element 6 is -Infinity/);
  });
});
