import { describe, expect, it } from 'vitest';
import { MemorySource } from '../src/io/byte-source.js';
import { onnxReader } from '../src/formats/onnx/reader.js';
import { MAX_ONNX_TYPED_BYTES } from '../src/formats/onnx/model.js';
import { concat, onnxModel, onnxNode, pb } from './fixtures/scan/craft.js';

/**
 * Typed fields are read as protobuf reads them, and bounded. Varint fields (dims, int64_data, int32_data, Constant value_ints) are counted before they are decoded,
 * and decoded into place: a few megabytes of one-byte varints once became millions of BigInts (a 64 MB
 * dims field took 4.2 GB and 42 s to refuse), and 256 MB of int64_data decoded to 2 GB in memory.
 */

const open = (bytes: Uint8Array) => onnxReader.open!(new MemorySource(bytes, 'm.onnx'));
const ones = (n: number): Uint8Array => new Uint8Array(n).fill(1);

async function all(chunks: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for await (const c of chunks) parts.push(c);
  return concat(...parts);
}

describe('ONNX typed fields', () => {
  it('a tensor of millions of dimensions is refused by a count, before any is decoded', async () => {
    const t0 = Date.now();
    const bytes = onnxModel([pb.msg(5, pb.bytes(1, ones(32 * 1024 * 1024)), pb.int(2, 1), pb.str(8, 'w'), pb.bytes(9, new Uint8Array(4)))]);
    await expect(open(bytes)).rejects.toMatchObject({ code: 'OnnxLimit', message: expect.stringContaining('MAX_ONNX_DIMS') });
    expect(Date.now() - t0).toBeLessThan(8_000);
  }, 60_000);

  it('int64_data that would decode past MAX_ONNX_TYPED_BYTES is refused on open, not decoded', async () => {
    const n = MAX_ONNX_TYPED_BYTES / 8 + 1;
    const bytes = onnxModel([pb.msg(5, pb.int(1, n), pb.int(2, 7), pb.str(8, 'w'), pb.bytes(7, ones(n)))]);
    await expect(open(bytes)).rejects.toMatchObject({ code: 'OnnxLimit', message: expect.stringContaining('MAX_ONNX_TYPED_BYTES') });
  }, 60_000);

  it('a Constant whose value_ints would decode past MAX_ONNX_TYPED_BYTES is refused', async () => {
    const n = MAX_ONNX_TYPED_BYTES / 8 + 1;
    const attr = pb.msg(5, pb.str(1, 'value_ints'), pb.bytes(8, ones(n)), pb.int(20, 7));
    await expect(open(onnxModel([onnxNode('Constant', [attr])]))).rejects.toMatchObject({ code: 'OnnxLimit' });
  }, 60_000);

  it('typed varints decode to the values onnx gives (negatives, 10-byte varints, UINT32 from uint64_data)', async () => {
    const i64 = [0n, -1n, 1n << 62n, -(1n << 63n), 300n];
    const u32 = [0n, 0xffffffffn, 0x1_0000_0005n];
    const i16 = [-2n, 70000n];
    const bytes = onnxModel([
      pb.msg(5, pb.int(1, i64.length), pb.int(2, 7), pb.str(8, 'a'), pb.bytes(7, concat(...i64.map((v) => pb.varint(v))))),
      pb.msg(5, pb.int(1, u32.length), pb.int(2, 12), pb.str(8, 'b'), pb.bytes(11, concat(...u32.map((v) => pb.varint(v))))),
      pb.msg(5, pb.int(1, i16.length), pb.int(2, 5), pb.str(8, 'c'), ...i16.map((v) => pb.int(5, v))),
      onnxNode('Constant', [pb.msg(5, pb.str(1, 'value_ints'), pb.bytes(8, concat(...i64.map((v) => pb.varint(v)))), pb.int(20, 7))]),
    ]);
    const { tensors } = await open(bytes);
    const get = async (name: string) => all(tensors.tensors.find((t) => t.name === name)!.chunks());
    expect([...new BigInt64Array((await get('a')).slice().buffer)]).toEqual(i64);
    expect([...new Uint32Array((await get('b')).slice().buffer)]).toEqual([0, 0xffffffff, 5]);
    expect([...new Int16Array((await get('c')).slice().buffer)]).toEqual([-2, 70000 - 65536]);
    expect([...new BigInt64Array((await get('y')).slice().buffer)]).toEqual(i64);
    expect(tensors.tensors.find((t) => t.name === 'w' || t.name === 'a')!.shape).toEqual([5]);
  });

  // protobuf reads a field of a known number but another wire type as an unknown field: onnx sees no
  // values in it (numpy_helper.to_array: "cannot reshape array of size 0"). Read as values, it made
  // tensors no ONNX loader sees.
  it('a typed field of the wrong wire type holds no values, as protobuf reads it', async () => {
    const floatAsVarint = pb.msg(5, pb.int(1, 1), pb.int(2, 1), pb.str(8, 'f'), concat(pb.key(4, 0), Uint8Array.of(0x80, 0x80, 0x80, 0x01)));
    await expect(open(onnxModel([floatAsVarint]))).rejects.toMatchObject({ code: 'InvalidOnnx', message: expect.stringContaining('0 typed values') });
    const int8AsFixed32 = pb.msg(5, pb.int(1, 4), pb.int(2, 3), pb.str(8, 'i'), concat(pb.key(5, 5), Uint8Array.of(1, 2, 3, 4)));
    await expect(open(onnxModel([int8AsFixed32]))).rejects.toMatchObject({ code: 'InvalidOnnx', message: expect.stringContaining('0 typed values') });
    const doubleAsVarint = pb.msg(5, pb.int(1, 1), pb.int(2, 11), pb.str(8, 'd'), concat(pb.key(10, 0), Uint8Array.of(0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x01)));
    await expect(open(onnxModel([doubleAsVarint]))).rejects.toMatchObject({ code: 'InvalidOnnx', message: expect.stringContaining('0 typed values') });
  });

  it("a Constant's value_floats of the wrong wire type holds no values, as protobuf reads it", async () => {
    const attr = pb.msg(5, pb.str(1, 'value_floats'), concat(pb.key(7, 0), Uint8Array.of(0x80, 0x80, 0x80, 0x01)), pb.int(20, 6));
    const { tensors } = await open(onnxModel([onnxNode('Constant', [attr])]));
    expect(tensors.tensors.find((t) => t.name === 'y')!.shape).toEqual([0]);
  });
});
