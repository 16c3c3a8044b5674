import fc from 'fast-check';
import { DTYPES, DTYPE_INFO, type Dtype } from '../../src/dtype/dtypes.js';
import { tensorFromBytes, type Tensor } from '../../src/dtype/tensor.js';

/** Elements per whole byte group of a dtype: 2 for F4, 4 for F6, 1 otherwise. */
export function elementQuantum(dtype: Dtype): number {
  const bits = DTYPE_INFO[dtype].bits;
  return bits === 4 ? 2 : bits === 6 ? 4 : 1;
}

/** A random tensor of any dtype: scalars, zero-size and multi-dimensional shapes. */
export const tensorArb: fc.Arbitrary<Tensor> = fc
  .record({
    dtype: fc.constantFrom(...DTYPES),
    shape: fc.array(fc.integer({ min: 0, max: 5 }), { maxLength: 4 }),
    seed: fc.uint8Array({ minLength: 0, maxLength: 4096 }),
  })
  .map(({ dtype, shape, seed }) => {
    const q = elementQuantum(dtype);
    const s = shape.length === 0 && q > 1 ? [q] : shape.map((d, i) => (i === shape.length - 1 ? d * q : d));
    const count = s.reduce((a, b) => a * b, 1);
    const bytes = new Uint8Array((count * DTYPE_INFO[dtype].bits) / 8);
    for (let i = 0; i < bytes.length; i++) bytes[i] = seed.length === 0 ? i * 31 : seed[i % seed.length]! ^ (i >> 3);
    return tensorFromBytes(dtype, s, bytes);
  });

/** Tensor names: any well-formed string but `__metadata__`. */
export const nameArb = fc.string({ unit: 'grapheme', maxLength: 12 }).filter((n) => n !== '__metadata__');

export const tensorsArb = fc.dictionary(nameArb, tensorArb, { maxKeys: 8 });

export const metadataArb = fc.option(fc.dictionary(fc.string({ unit: 'grapheme', maxLength: 8 }), fc.string({ unit: 'grapheme', maxLength: 16 }), { maxKeys: 4 }), {
  nil: undefined,
});

/** The raw bytes of a tensor's data. */
export function rawBytes(t: { data: ArrayBufferView }): Uint8Array {
  return new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
}
