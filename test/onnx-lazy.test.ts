import { describe, expect, it } from 'vitest';
import { onnxReader } from '../src/formats/onnx/reader.js';
import { MemorySource } from '../src/io/byte-source.js';
import { CountingSource } from './helpers/assertions.js';

/**
 * Opening an ONNX model locates its tensors without reading them: a model whose initializers hold
 * 64 MiB of raw_data is opened reading a few pages of its structure; the bytes are read when streamed.
 */

function varint(n: number): number[] {
  const out: number[] = [];
  do {
    out.push((n & 0x7f) | (n >= 0x80 ? 0x80 : 0));
    n = Math.floor(n / 128);
  } while (n > 0);
  return out;
}

function field(no: number, body: Uint8Array): Uint8Array {
  const head = [(no << 3) | 2, ...varint(body.length)];
  const out = new Uint8Array(head.length + body.length);
  out.set(head);
  out.set(body, head.length);
  return out;
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** A FLOAT initializer of `n` elements in raw_data: dims (1), data_type (2) = 1, name (8), raw_data (9). */
function initializer(name: string, n: number): Uint8Array {
  return concat([new Uint8Array([0x08, ...varint(n), 0x10, 0x01]), field(8, new TextEncoder().encode(name)), field(9, new Uint8Array(n * 4).fill(7))]);
}

describe('ONNX: lazy reading', () => {
  it('opens a model with 64 MiB of initializers reading only its structure', async () => {
    const n = 4 * 1024 * 1024;
    const graph = field(7, concat([field(5, initializer('a', n)), field(5, initializer('b', n)), field(5, initializer('c', n)), field(5, initializer('d', n))]));
    const model = concat([new Uint8Array([0x08, 0x08]), graph]);
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
