import { describe, expect, expectTypeOf, it } from 'vitest';
import { DTYPES, DTYPE_INFO, type Dtype, type DtypeArrays } from '../src/dtype/dtypes.js';
import { tensorFromBytes, type Tensor } from '../src/dtype/tensor.js';
import { save } from '../src/safetensors/save.js';
import { load } from '../src/safetensors/load.js';

/**
 * Tensor is a union discriminated by dtype. Most of this file is checked by the compiler
 * (npm run typecheck covers test/): it stops compiling if narrowing breaks.
 */

/** Each dtype's array constructor, typed by DtypeArrays: a wrong entry does not compile. */
const CONSTRUCTORS: { [D in Dtype]: new (length: number) => DtypeArrays[D] } = {
  BOOL: Uint8Array,
  F4: Uint8Array,
  F6_E2M3: Uint8Array,
  F6_E3M2: Uint8Array,
  U8: Uint8Array,
  I8: Int8Array,
  F8_E5M2: Uint8Array,
  F8_E4M3: Uint8Array,
  F8_E8M0: Uint8Array,
  F8_E4M3FNUZ: Uint8Array,
  F8_E5M2FNUZ: Uint8Array,
  I16: Int16Array,
  U16: Uint16Array,
  F16: Uint16Array,
  BF16: Uint16Array,
  I32: Int32Array,
  U32: Uint32Array,
  F32: Float32Array,
  C64: Uint8Array,
  F64: Float64Array,
  I64: BigInt64Array,
  U64: BigUint64Array,
};

/** Uses each narrowed member's data as its own array type, without a cast. */
function describeData(t: Tensor): string {
  switch (t.dtype) {
    case 'F32':
      expectTypeOf(t.data).toEqualTypeOf<Float32Array>();
      return `f32 ${t.data.map((x) => x * 2).join(',')}`;
    case 'F64':
      expectTypeOf(t.data).toEqualTypeOf<Float64Array>();
      return `f64 ${t.data[0]}`;
    case 'I64':
    case 'U64': {
      expectTypeOf(t.data).toEqualTypeOf<BigInt64Array | BigUint64Array>();
      const first: bigint | undefined = t.data[0];
      return `${t.dtype} ${first}`;
    }
    case 'F16':
    case 'BF16':
      expectTypeOf(t.data).toEqualTypeOf<Uint16Array>();
      return 'half bits';
    case 'I8':
      expectTypeOf(t.data).toEqualTypeOf<Int8Array>();
      return 'i8';
    case 'BOOL':
    case 'F8_E4M3':
    case 'F4':
    case 'C64':
      expectTypeOf(t.data).toEqualTypeOf<Uint8Array>();
      return 'bytes';
    default:
      return t.dtype;
  }
}

describe('Tensor is a union discriminated by dtype', () => {
  it('narrows data by dtype, with no cast', () => {
    const t = load(save({ w: { dtype: 'F32', shape: [2], data: new Float32Array([1.5, 2]) } })).get('w')!;
    expectTypeOf(t).toEqualTypeOf<Tensor>();
    if (t.dtype === 'F32') {
      const data: Float32Array = t.data;
      expect(Array.from(data)).toEqual([1.5, 2]);
      // @ts-expect-error: an F32 tensor's data is not a Float64Array
      const wrong: Float64Array = t.data;
      void wrong;
    } else {
      expect.unreachable();
    }
    expect(describeData(t)).toBe('f32 3,4');
    // Without narrowing, data is any of the arrays.
    const notNarrowed = (u: Tensor): Float32Array =>
      // @ts-expect-error: not narrowed, so not known to be a Float32Array
      u.data;
    void notNarrowed;
    expectTypeOf<Tensor<'U8'>>().toEqualTypeOf<{ readonly dtype: 'U8'; readonly shape: readonly number[]; readonly data: Uint8Array }>();
    expectTypeOf(tensorFromBytes('I64', [1], new Uint8Array(8)).data).toEqualTypeOf<BigInt64Array>();
  });

  it("every dtype's data is the array the type says (DtypeArrays matches DTYPE_INFO)", () => {
    for (const dtype of DTYPES) {
      expect([dtype, DTYPE_INFO[dtype].array]).toEqual([dtype, CONSTRUCTORS[dtype]]);
      const t = tensorFromBytes(dtype, [0], new Uint8Array(0));
      expect(t.data).toBeInstanceOf(CONSTRUCTORS[dtype]);
    }
  });
});
