import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatsClaiming, probeSource } from '../src/formats/registry.js';
import { MemorySource } from '../src/io/byte-source.js';

/**
 * The detectors of MXNet, PaddlePaddle and Flax claim their files (first) and nothing near them: MXNet's list
 * magic starts with a protobuf tag byte (0x12) but is not ONNX; a msgpack map that holds no Flax array
 * extension, or bytes that merely start 0x80–0x8f, are not Flax; a pickle of a dict that names no numpy
 * is not Paddle.
 */
const FIX = path.join(import.meta.dirname, 'fixtures', 'formats');
const claims = async (bytes: Uint8Array): Promise<string[]> => formatsClaiming(await probeSource(new MemorySource(bytes, 'x'))).map((f) => f.id);
const file = (...p: string[]) => new Uint8Array(fs.readFileSync(path.join(FIX, ...p)));

describe('detection of MXNet, PaddlePaddle and Flax files', () => {
  it('each fixture is claimed by its format alone', async () => {
    // The list magic's first byte is a protobuf tag: ONNX's detector claims it too, and MXNet is asked first.
    expect(await claims(file('mxnet', 'all-dtypes-v2.params'))).toEqual(['mxnet', 'onnx']);
    expect((await claims(file('mxnet', 'legacy_ndarray.v0')))[0]).toBe('mxnet');
    expect(await claims(file('flax', 'train-state.msgpack'))).toEqual(['flax']);
    // A Paddle pickle is a pickle: PyTorch claims every pickle too, and Paddle is asked first.
    expect(await claims(file('paddle', 'model-protocol4.pdparams'))).toEqual(['paddle', 'pytorch']);
    expect(await claims(file('paddle', 'model-protocol2.pdparams'))).toEqual(['paddle', 'pytorch']);
  });

  it('the list magic with a reserved word that is not zero, or a count the file cannot hold, is not MXNet', async () => {
    const b = file('mxnet', 'all-dtypes-v2.params');
    const reserved = b.slice();
    reserved[8] = 1;
    expect(await claims(reserved)).not.toContain('mxnet');
    const count = b.slice();
    new DataView(count.buffer).setBigUint64(16, 1n << 40n, true);
    expect(await claims(count)).not.toContain('mxnet');
  });

  it('a msgpack map of plain values, and bytes that start like a map, are not Flax', async () => {
    // msgpack.packb({'a': 1, 'b': [1, 2, 3], 'c': b'xyz'})
    expect(await claims(new Uint8Array([131, 161, 97, 1, 161, 98, 147, 1, 2, 3, 161, 99, 196, 3, 120, 121, 122]))).toEqual([]);
    expect(await claims(new Uint8Array([0x85, 0xa1, 0x61, 0xc7, 0xff, 0x01, 0x93]))).toEqual([]);
    expect(await claims(new Uint8Array(64).fill(0x8f))).toEqual([]);
  });

  it('a pickle of a dict that names no numpy array is not Paddle', async () => {
    // pickle.dumps({'a': 1}, protocol=4)
    expect(await claims(new Uint8Array([0x80, 4, 0x95, 10, 0, 0, 0, 0, 0, 0, 0, 0x7d, 0x94, 0x8c, 1, 0x61, 0x94, 0x4b, 1, 0x73, 0x2e]))).not.toContain('paddle');
  });
});
