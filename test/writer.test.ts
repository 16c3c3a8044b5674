import { describe, expect, it } from 'vitest';
import { save } from '../src/safetensors/save.js';
import { load } from '../src/safetensors/load.js';
import { planLayout } from '../src/safetensors/layout.js';
import { SafetensorError } from '../src/errors.js';
import { DTYPES } from '../src/dtype/dtypes.js';

const latin1 = (b: Uint8Array): string => Buffer.from(b).toString('latin1');
function bytes(prefix: string, data: number[] | Uint8Array = []): Uint8Array {
  const p = Buffer.from(prefix, 'latin1');
  const out = new Uint8Array(p.length + data.length);
  out.set(p);
  out.set(data, p.length);
  return out;
}
const f32 = (...v: number[]): Uint8Array => new Uint8Array(new Float32Array(v).buffer);

// Golden vectors from the reference's own tests (specs/safetensors-ref.md §6.1).
describe('writer output is byte-identical to the reference', () => {
  it('empty file', () => {
    expect(latin1(save({}))).toBe(latin1(bytes('\x08\0\0\0\0\0\0\0{}      ')));
  });

  it('metadata only', () => {
    expect(latin1(save({}, { metadata: { framework: 'pt' } }))).toBe(latin1(bytes('(\0\0\0\0\0\0\0{"__metadata__":{"framework":"pt"}}     ')));
  });

  it('F32 [1,2,3] attn.0 (test_serialization)', () => {
    const out = save({ 'attn.0': { dtype: 'F32', shape: [1, 2, 3], data: new Float32Array([0, 1, 2, 3, 4, 5]) } });
    expect(latin1(out)).toBe(latin1(bytes('@\0\0\0\0\0\0\0{"attn.0":{"dtype":"F32","shape":[1,2,3],"data_offsets":[0,24]}}', f32(0, 1, 2, 3, 4, 5))));
  });

  it('F32 [1,1,2,3] attn0: 7 spaces of padding (test_serialization_forced_alignement)', () => {
    const out = save({ attn0: { dtype: 'F32', shape: [1, 1, 2, 3], data: new Float32Array(6) } });
    expect(latin1(out.subarray(0, 80))).toBe(latin1(bytes('H\0\0\0\0\0\0\0{"attn0":{"dtype":"F32","shape":[1,1,2,3],"data_offsets":[0,24]}}       ')));
  });

  it('F4 [1,2] (test_serialization_fp4)', () => {
    const out = save({ 'attn.0': { dtype: 'F4', shape: [1, 2], data: new Uint8Array(1) } });
    expect(latin1(out)).toBe(latin1(bytes('@\0\0\0\0\0\0\0{"attn.0":{"dtype":"F4","shape":[1,2],"data_offsets":[0,1]}}    \0')));
  });

  it('two dtypes, order-invariant', () => {
    const expected = bytes(
      '\x80\0\0\0\0\0\0\0{"test1":{"dtype":"I32","shape":[2,2],"data_offsets":[0,16]},"test2":{"dtype":"F16","shape":[2,2],"data_offsets":[16,24]}}      ',
      new Uint8Array(24),
    );
    const a = save({ test1: { dtype: 'I32', shape: [2, 2], data: new Int32Array(4) }, test2: { dtype: 'F16', shape: [2, 2], data: new Uint16Array(4) } });
    const b = save(new Map([
      ['test2', { dtype: 'F16' as const, shape: [2, 2], data: new Uint8Array(8) }],
      ['test1', { dtype: 'I32' as const, shape: [2, 2], data: new Uint8Array(16) }],
    ]));
    expect(latin1(a)).toBe(latin1(expected));
    expect(latin1(b)).toBe(latin1(expected));
  });

  it('metadata + tensor', () => {
    const out = save({ test1: { dtype: 'I32', shape: [2, 2], data: new Int32Array(4) } }, { metadata: { framework: 'pt' } });
    expect(latin1(out)).toBe(
      latin1(bytes('`\0\0\0\0\0\0\0{"__metadata__":{"framework":"pt"},"test1":{"dtype":"I32","shape":[2,2],"data_offsets":[0,16]}} ', new Uint8Array(16))),
    );
  });

  it('orders by dtype descending (reference enum), then name by UTF-8 bytes', () => {
    const specs = [...DTYPES].reverse().flatMap((dtype) => ['b', 'a', '\u{1F600}', '\uFFFD'].map((n) => ({ name: `${n}`, dtype, shape: [8] })));
    const unique = specs.map((s, i) => ({ ...s, name: `${s.name}${String(i % 4)}-${s.dtype}` }));
    const order = planLayout(unique).tensors.map((t) => t.dtype);
    const expectedDtypes = ['U64', 'I64', 'F64', 'C64', 'F32', 'U32', 'I32', 'BF16', 'F16', 'U16', 'I16', 'F8_E5M2FNUZ', 'F8_E4M3FNUZ', 'F8_E8M0', 'F8_E4M3', 'F8_E5M2', 'I8', 'U8', 'F6_E3M2', 'F6_E2M3', 'F4', 'BOOL'];
    expect([...new Set(order)]).toEqual(expectedDtypes);
    const names = planLayout([
      { name: '\uFFFD', dtype: 'U8', shape: [1] },
      { name: '\u{1F600}', dtype: 'U8', shape: [1] },
      { name: 'z', dtype: 'U8', shape: [1] },
    ]).tensors.map((t) => t.name);
    // UTF-8 / code point order: U+FFFD < U+1F600, although its UTF-16 code unit is larger.
    expect(names).toEqual(['z', '\uFFFD', '\u{1F600}']);
  });

  it('escapes like serde_json: control characters, but not DEL, / or U+2028', () => {
    const name = 'é\u007f\t/\u2028\u0001"\\';
    const out = save({ [name]: { dtype: 'U8', shape: [0], data: new Uint8Array(0) } });
    const text = new TextDecoder().decode(out.subarray(8));
    expect(text).toContain('"é\u007f\\t/\u2028\\u0001\\"\\\\"');
    expect([...load(out).keys()]).toEqual([name]);
  });

  it('sorts metadata keys, so output is deterministic', () => {
    const a = save({}, { metadata: { b: '1', a: '2', '\u{1F600}': '3', '\uFFFD': '4' } });
    const b = save({}, { metadata: new Map([['\uFFFD', '4'], ['a', '2'], ['\u{1F600}', '3'], ['b', '1']]) });
    expect(latin1(a)).toBe(latin1(b));
    expect(new TextDecoder().decode(a.subarray(8)).trim()).toBe('{"__metadata__":{"a":"2","b":"1","\uFFFD":"4","\u{1F600}":"3"}}');
  });

  it('writes "__metadata__":{} for empty metadata and nothing for none', () => {
    expect(new TextDecoder().decode(save({}, { metadata: {} }).subarray(8)).trim()).toBe('{"__metadata__":{}}');
    expect(new TextDecoder().decode(save({}, { metadata: null }).subarray(8)).trim()).toBe('{}');
  });
});

describe('writer refuses what readers would reject, with coded errors', () => {
  const ok = { dtype: 'U8' as const, shape: [1], data: new Uint8Array(1) };
  const code = (f: () => unknown): string => {
    try {
      f();
      return 'no error';
    } catch (e) {
      expect(e).toBeInstanceOf(SafetensorError);
      return (e as SafetensorError).code;
    }
  };
  it.each([
    ['tensor named __metadata__', () => save({ __metadata__: ok }), 'InvalidTensorName'],
    ['lone surrogate name', () => save({ 'a\uD800': ok }), 'InvalidTensorName'],
    ['lone surrogate metadata', () => save({}, { metadata: { k: '\uDC00' } }), 'InvalidMetadata'],
    ['non-string metadata', () => save({}, { metadata: { k: 1 as unknown as string } }), 'InvalidMetadata'],
    ['unknown dtype', () => save({ a: { ...ok, dtype: 'F128' as 'U8' } }), 'InvalidDtype'],
    ['negative dim', () => save({ a: { ...ok, shape: [-1] } }), 'InvalidShape'],
    ['fractional dim', () => save({ a: { ...ok, shape: [1.5] } }), 'InvalidShape'],
    ['wrong byte length', () => save({ a: { dtype: 'F32', shape: [2], data: new Uint8Array(4) } }), 'InvalidTensorView'],
    ['wrong typed array', () => save({ a: { dtype: 'F32', shape: [1], data: new Int32Array(1) } }), 'InvalidTensorView'],
    ['odd F4 count', () => save({ a: { dtype: 'F4', shape: [3], data: new Uint8Array(2) } }), 'MisalignedSlice'],
    ['duplicate name in specs', () => planLayout([{ name: 'a', dtype: 'U8', shape: [1] }, { name: 'a', dtype: 'U8', shape: [1] }]), 'DuplicateTensor'],
  ])('%s', (_n, f, expected) => {
    expect(code(f)).toBe(expected);
  });

  it('refuses a header over 100,000,000 bytes', () => {
    const big = 'x'.repeat(100_000_000 - 30);
    expect(code(() => planLayout([], { k: big }))).toBe('no error');
    expect(code(() => planLayout([], { k: big + 'x'.repeat(8) }))).toBe('HeaderTooLarge');
  });

  it('accepts raw bytes or the natural typed array for every dtype', () => {
    for (const dtype of DTYPES) {
      const out = load(save({ a: { dtype, shape: [8], data: new Uint8Array(8 * (dtype === 'F4' ? 0.5 : dtype === 'F6_E2M3' || dtype === 'F6_E3M2' ? 0.75 : { BOOL: 1, U8: 1, I8: 1, I16: 2, U16: 2, F16: 2, BF16: 2, I32: 4, U32: 4, F32: 4, C64: 8, F64: 8, I64: 8, U64: 8 }[dtype as 'U8'] ?? 1)) } }));
      expect(out.get('a')!.dtype).toBe(dtype);
    }
  });
});
