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

  it('a state dict pickled as an OrderedDict of numpy arrays (protocols 2 and 4) is Paddle', async () => {
    // pickle.dumps(collections.OrderedDict([('w', np.arange(2, dtype='float32'))]), protocol=2 and 4), numpy 1.24
    expect((await claims(new Uint8Array([128, 2, 99, 99, 111, 108, 108, 101, 99, 116, 105, 111, 110, 115, 10, 79, 114, 100, 101, 114, 101, 100, 68, 105, 99, 116, 10, 113, 0, 41, 82, 113, 1, 88, 1, 0, 0, 0, 119, 113, 2, 99, 110, 117, 109, 112, 121, 46, 99, 111, 114, 101, 46, 109, 117, 108, 116, 105, 97, 114, 114, 97, 121, 10, 95, 114, 101, 99, 111, 110, 115, 116, 114, 117, 99, 116, 10, 113, 3, 99, 110, 117, 109, 112, 121, 10, 110, 100, 97, 114, 114, 97, 121, 10, 113, 4, 75, 0, 133, 113, 5, 99, 95, 99, 111, 100, 101, 99, 115, 10, 101, 110, 99, 111, 100, 101, 10, 113, 6, 88, 1, 0, 0, 0, 98, 113, 7, 88, 6, 0, 0, 0, 108, 97, 116, 105, 110, 49, 113, 8, 134, 113, 9, 82, 113, 10, 135, 113, 11, 82, 113, 12, 40, 75, 1, 75, 2, 133, 113, 13, 99, 110, 117, 109, 112, 121, 10, 100, 116, 121, 112, 101, 10, 113, 14, 88, 2, 0, 0, 0, 102, 52, 113, 15, 137, 136, 135, 113, 16, 82, 113, 17, 40, 75, 3, 88, 1, 0, 0, 0, 60, 113, 18, 78, 78, 78, 74, 255, 255, 255, 255, 74, 255, 255, 255, 255, 75, 0, 116, 113, 19, 98, 137, 104, 6, 88, 9, 0, 0, 0, 0, 0, 0, 0, 0, 0, 194, 128, 63, 113, 20, 104, 8, 134, 113, 21, 82, 113, 22, 116, 113, 23, 98, 115, 46])))[0]).toBe('paddle');
    expect((await claims(new Uint8Array([128, 4, 149, 182, 0, 0, 0, 0, 0, 0, 0, 140, 11, 99, 111, 108, 108, 101, 99, 116, 105, 111, 110, 115, 148, 140, 11, 79, 114, 100, 101, 114, 101, 100, 68, 105, 99, 116, 148, 147, 148, 41, 82, 148, 140, 1, 119, 148, 140, 21, 110, 117, 109, 112, 121, 46, 99, 111, 114, 101, 46, 109, 117, 108, 116, 105, 97, 114, 114, 97, 121, 148, 140, 12, 95, 114, 101, 99, 111, 110, 115, 116, 114, 117, 99, 116, 148, 147, 148, 140, 5, 110, 117, 109, 112, 121, 148, 140, 7, 110, 100, 97, 114, 114, 97, 121, 148, 147, 148, 75, 0, 133, 148, 67, 1, 98, 148, 135, 148, 82, 148, 40, 75, 1, 75, 2, 133, 148, 104, 8, 140, 5, 100, 116, 121, 112, 101, 148, 147, 148, 140, 2, 102, 52, 148, 137, 136, 135, 148, 82, 148, 40, 75, 3, 140, 1, 60, 148, 78, 78, 78, 74, 255, 255, 255, 255, 74, 255, 255, 255, 255, 75, 0, 116, 148, 98, 137, 67, 8, 0, 0, 0, 0, 0, 0, 128, 63, 148, 116, 148, 98, 115, 46])))[0]).toBe('paddle');
  });

  it('a pickle of a dict that names no numpy array is not Paddle', async () => {
    // pickle.dumps({'a': 1}, protocol=4)
    expect(await claims(new Uint8Array([0x80, 4, 0x95, 10, 0, 0, 0, 0, 0, 0, 0, 0x7d, 0x94, 0x8c, 1, 0x61, 0x94, 0x4b, 1, 0x73, 0x2e]))).not.toContain('paddle');
  });
});
