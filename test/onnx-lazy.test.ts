import { describe, expect, it } from 'vitest';
import { onnxReader } from '../src/formats/onnx/reader.js';
import { MemorySource } from '../src/io/byte-source.js';
import { concat, pb } from './fixtures/scan/craft.js';
import { CountingSource } from './helpers/assertions.js';

/**
 * Opening an ONNX model locates its tensors without reading them: a model whose initializers hold
 * 64 MiB of raw_data is opened reading a few pages of its structure; the bytes are read when streamed.
 */

/** A FLOAT initializer (graph field 5) of `n` elements in raw_data: dims (1), data_type (2) = 1, name (8), raw_data (9). */
function initializer(name: string, n: number): Uint8Array {
  return pb.msg(5, pb.int(1, n), pb.int(2, 1), pb.str(8, name), pb.bytes(9, new Uint8Array(n * 4).fill(7)));
}

describe('ONNX: lazy reading', () => {
  it('opens a model with 64 MiB of initializers reading only its structure', async () => {
    const n = 4 * 1024 * 1024;
    const graph = pb.msg(7, initializer('a', n), initializer('b', n), initializer('c', n), initializer('d', n));
    const model = concat(pb.int(1, 8), graph);
    const source = new CountingSource(new MemorySource(model, 'big.onnx'));
    const { tensors } = await onnxReader.open!(source);
    expect(tensors.tensors.map((t) => [t.name, t.dtype, t.shape, t.byteLength])).toEqual(['a', 'b', 'c', 'd'].map((x) => [x, 'F32', [n], n * 4]));
    expect(source.bytesRead).toBeLessThan(256 * 1024);
    let total = 0;
    for await (const c of tensors.tensors[2]!.chunks()) {
      expect(c.every((b) => b === 7)).toBe(true);
      total += c.byteLength;
    }
    expect(total).toBe(n * 4);
  });
});
