import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { DTYPES, DTYPE_INFO, type Dtype } from '../src/dtype/dtypes.js';
import { bytesOf } from '../src/dtype/tensor.js';
import { isTensorsafeError } from '../src/errors.js';
import { load } from '../src/safetensors/load.js';
import { SafetensorsFile } from '../src/safetensors/reader.js';
import { save } from '../src/safetensors/save.js';
import { MemorySource } from '../src/io/byte-source.js';
import { safetensorsTensorSet } from '../src/tensor/safetensors-set.js';
import { fromOrtTensor, fromOrtTensors, ORT_TYPE_OF, toOrtTensor, toOrtTensors } from '../src/runtime/onnxruntime.js';

/**
 * tensorsafe/onnxruntime with the real onnxruntime-node: every dtype to an ORT Tensor and back, bit for
 * bit; a model run in ONNX Runtime on inputs the adapter made from a safetensors file, and its outputs
 * saved back to safetensors.
 */
const MODEL = path.join(import.meta.dirname, 'fixtures', 'runtime', 'identity-all.onnx');

/** `count` elements of `dtype` as bytes: every bit pattern cycled through (a deterministic walk). */
function patternBytes(dtype: Dtype, count: number): Uint8Array {
  const bytes = new Uint8Array((count * DTYPE_INFO[dtype].bits) / 8);
  let x = 0x9e3779b9;
  for (let i = 0; i < bytes.length; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    bytes[i] = x >>> 24;
  }
  if (dtype === 'BOOL') for (let i = 0; i < bytes.length; i++) bytes[i]! &= 1;
  return bytes;
}

/** Every element of a widened float dtype, as bytes (all 2^16 BF16 codes, all 256 F8 codes, 96 F6/F4 codes). */
function allCodes(dtype: Dtype): { bytes: Uint8Array; count: number } {
  const bits = DTYPE_INFO[dtype].bits;
  if (bits === 16) return { bytes: bytesOf(Uint16Array.from({ length: 65536 }, (_, i) => i)), count: 65536 };
  if (bits === 8) return { bytes: Uint8Array.from({ length: 256 }, (_, i) => i), count: 256 };
  const bytes = Uint8Array.from({ length: 48 }, (_, i) => (i * 37 + 11) & 255); // every 4- and 6-bit code occurs
  return { bytes, count: (48 * 8) / bits };
}

const NATIVE = DTYPES.filter((d) => ORT_TYPE_OF[d] !== undefined && (ORT_TYPE_OF[d] !== 'float32' || d === 'F32'));
const WIDENED = DTYPES.filter((d) => ORT_TYPE_OF[d] === 'float32' && d !== 'F32');

const codeOf = (e: unknown): unknown => (isTensorsafeError(e) ? e.code : e);

describe('tensors to and from onnxruntime-node', () => {
  it('the table covers every dtype: ORT has most natively, BF16/F8/F6/F4 widen to float32, C64 has none', () => {
    expect(NATIVE).toEqual(['BOOL', 'U8', 'I8', 'I16', 'U16', 'F16', 'I32', 'U32', 'F32', 'F64', 'I64', 'U64']);
    expect(WIDENED).toEqual(['F4', 'F6_E2M3', 'F6_E3M2', 'F8_E5M2', 'F8_E4M3', 'F8_E8M0', 'F8_E4M3FNUZ', 'F8_E5M2FNUZ', 'BF16']);
    expect(ORT_TYPE_OF.F16).toBe('float16');
  });

  it.each(NATIVE)('%s: an ORT tensor of its own type sharing the bytes, and back bit for bit', (dtype) => {
    const bytes = patternBytes(dtype, 24);
    const t = toOrtTensor(ort, { dtype, shape: [2, 3, 4], data: bytes });
    expect(t).toBeInstanceOf(ort.Tensor);
    expect([t.type, t.dims]).toEqual([ORT_TYPE_OF[dtype], [2, 3, 4]]);
    // Zero copy: the ORT tensor's data is a view on the very bytes given.
    expect((t.data as ArrayBufferView).buffer).toBe(bytes.buffer);
    const back = fromOrtTensor(t);
    expect(back.dtype).toBe(dtype);
    expect(back.shape).toEqual([2, 3, 4]);
    expect(bytesOf(back.data)).toEqual(bytes);
  });

  it.each(WIDENED)('%s: every code widened to float32 exactly, and back with { dtype } (NaN stays NaN)', (dtype) => {
    const { bytes, count } = allCodes(dtype);
    const t = toOrtTensor(ort, { dtype, shape: [count], data: bytes });
    expect(t.type).toBe('float32');
    const back = fromOrtTensor(t, { dtype });
    expect(back.dtype).toBe(dtype);
    const got = bytesOf(back.data);
    expect(got.byteLength).toBe(bytes.byteLength);
    // Bytes that differ are NaN payloads only (a signalling NaN comes back quiet): each side decodes to NaN.
    const again = toOrtTensor(ort, back).data as Float32Array;
    const first = t.data as Float32Array;
    const moved: number[] = [];
    for (let i = 0; i < count; i++) if (!Object.is(again[i], first[i])) moved.push(i);
    expect(moved).toEqual([]);
    const size = DTYPE_INFO[dtype].bits / 8;
    if (size < 1) expect(got).toEqual(bytes); // F4, F6: no NaN
    else {
      const changed = Array.from({ length: count }, (_, i) => i).filter((i) => got.subarray(i * size, (i + 1) * size).some((b, k) => b !== bytes[i * size + k]!));
      expect(changed.filter((i) => !Number.isNaN(first[i]))).toEqual([]);
    }
  });

  it('C64 has no ORT type: RuntimeDtype', () => {
    expect(() => toOrtTensor(ort, { dtype: 'C64', shape: [1], data: new Uint8Array(8) }, { name: 'z' })).toThrow(expect.objectContaining({ code: 'RuntimeDtype', message: expect.stringContaining('`z`') }));
  });

  it('unaligned bytes (an F32 tensor at an odd offset) are copied once, and read right', () => {
    const values = new Float32Array([1.5, -2, 3.25, Number.NaN]);
    const buffer = new Uint8Array(17);
    buffer.set(bytesOf(values), 1);
    const t = toOrtTensor(ort, { dtype: 'F32', shape: [4], data: buffer.subarray(1) });
    expect(Array.from(t.data as Float32Array)).toEqual(Array.from(values));
    expect((t.data as Float32Array).buffer).not.toBe(buffer.buffer);
    const i64 = new Uint8Array(17);
    i64.set(bytesOf(new BigInt64Array([-5n, 2n ** 62n])), 1);
    expect(Array.from(toOrtTensor(ort, { dtype: 'I64', shape: [2], data: i64.subarray(1) }).data as BigInt64Array)).toEqual([-5n, 2n ** 62n]);
  });

  it('narrowing back to a dtype is checked: a value that would round throws LossyConversion, unless lossy', () => {
    const t = new ort.Tensor('float32', new Float32Array([1, 1.00390625]), [2]); // 1 + 2^-8: not a BF16
    expect(() => fromOrtTensor(t, { dtype: 'BF16', name: 'w' })).toThrow(expect.objectContaining({ code: 'LossyConversion', message: expect.stringMatching(/`w`.*element 1/) }));
    expect(Array.from(fromOrtTensor(t, { dtype: 'BF16', lossy: true }).data as Uint16Array)).toEqual([0x3f80, 0x3f80]);
    // A dtype whose ORT type is another: refused.
    expect(() => fromOrtTensor(t, { dtype: 'I32' })).toThrow(expect.objectContaining({ code: 'InvalidArgument' }));
  });

  it('int4 and uint4 unpack to I8 and U8; strings and GPU tensors are refused with a code', () => {
    const i4 = new ort.Tensor('int4', new Uint8Array([0x21, 0x08]) as unknown as Int8Array, [3]) // ORT's int4 takes packed bytes as a Uint8Array;
    expect(fromOrtTensor(i4)).toEqual({ dtype: 'I8', shape: [3], data: new Int8Array([1, 2, -8]) });
    const u4 = new ort.Tensor('uint4', new Uint8Array([0xf1]), [2]);
    expect(fromOrtTensor(u4)).toEqual({ dtype: 'U8', shape: [2], data: new Uint8Array([1, 15]) });
    let e: unknown;
    try {
      fromOrtTensor(new ort.Tensor('string', ['a'], [1]), { name: 's' });
    } catch (x) {
      e = x;
    }
    expect(codeOf(e)).toBe('RuntimeDtype');
    expect(() => fromOrtTensor({ type: 'float32', dims: [1], data: undefined, location: 'gpu-buffer' })).toThrow(/getData/);
  });
});

describe('a model run in onnxruntime-node on tensors from a safetensors file', () => {
  const INPUTS: Record<string, Dtype> = {
    x_float: 'F32', x_float16: 'F16', x_double: 'F64', x_int8: 'I8', x_uint8: 'U8', x_int16: 'I16', x_uint16: 'U16',
    x_int32: 'I32', x_uint32: 'U32', x_int64: 'I64', x_uint64: 'U64', x_bool: 'BOOL',
  };
  const file = save(Object.fromEntries(Object.entries(INPUTS).map(([name, dtype]) => [name, { dtype, shape: [2, 3], data: patternBytes(dtype, 6) }])));

  it('runs, and every output is its input bit for bit; Add computes; the outputs save to safetensors', async () => {
    const session = await ort.InferenceSession.create(MODEL);
    try {
      const feeds = await toOrtTensors(ort, file, session.inputNames);
      expect(Object.keys(feeds).sort()).toEqual(Object.keys(INPUTS).sort());
      const results = await session.run(feeds);
      const outputs = fromOrtTensors(results);
      const inputs = load(file);
      for (const [name, dtype] of Object.entries(INPUTS)) {
        const y = outputs.get(name.replace(/^x_/, 'y_'))!;
        expect([name, y.dtype, y.shape]).toEqual([name, dtype, [2, 3]]);
        expect([name, bytesOf(y.data)]).toEqual([name, bytesOf(inputs.get(name)!.data)]);
      }
      const x = inputs.get('x_float')!.data as Float32Array;
      expect(Array.from(outputs.get('sum')!.data as Float32Array)).toEqual(Array.from(x, (v) => Math.fround(v + v)));
      // Back to a file: the outputs as safetensors, read again.
      const reread = load(save(outputs));
      expect(bytesOf(reread.get('y_float16')!.data)).toEqual(bytesOf(inputs.get('x_float16')!.data));
    } finally {
      await session.release();
    }
  });

  it('feeds from an open file and from a TensorSet are the same; a name that is not there is TensorNotFound', async () => {
    const handle = await SafetensorsFile.open(new MemorySource(file));
    const fromHandle = await toOrtTensors(ort, handle, ['x_int64', 'x_float16']);
    const fromSet = await toOrtTensors(ort, safetensorsTensorSet(handle), ['x_int64', 'x_float16']);
    for (const name of ['x_int64', 'x_float16']) {
      expect([fromHandle[name]!.type, Array.from(fromHandle[name]!.data as ArrayLike<unknown>)]).toEqual([fromSet[name]!.type, Array.from(fromSet[name]!.data as ArrayLike<unknown>)]);
    }
    await expect(toOrtTensors(ort, handle, ['nope'])).rejects.toMatchObject({ code: 'TensorNotFound' });
    await handle.close();
  });
});
