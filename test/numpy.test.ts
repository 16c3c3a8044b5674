import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeTensors } from '../src/convert/write.js';
import { TensorsafeError } from '../src/errors.js';
import type { Finding } from '../src/formats/findings.js';
import { numpyFormat } from '../src/formats/numpy/format.js';
import { NPY_HEADER_PAGE_BYTES, npyTensorName, numpyReader } from '../src/formats/numpy/reader.js';
import { detectSourceFormat } from '../src/formats/registry.js';
import { safetensorsReader } from '../src/formats/safetensors/reader.js';
import { MemorySink } from '../src/io/byte-sink.js';
import { MemorySource } from '../src/io/byte-source.js';
import { CountingSource } from './helpers/assertions.js';
import { swapChunks, swapInto, swapped } from '../src/tensor/byte-swap.js';
import { streamWindow } from '../src/tensor/stream-window.js';
import { readEntry } from '../src/tensor/tensor-set.js';

const DIR = path.join(import.meta.dirname, 'fixtures', 'formats', 'numpy');
const fixture = (f: string): MemorySource => new MemorySource(new Uint8Array(fs.readFileSync(path.join(DIR, f))), path.join(DIR, f));
const expectedOf = (f: string): { tensors: { name: string; sha256: string }[] } => JSON.parse(fs.readFileSync(path.join(DIR, `${f}.expected.json`), 'utf8'));
const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

function naiveSwap(b: Uint8Array, unit: number): Uint8Array {
  const out = new Uint8Array(b.length);
  for (let i = 0; i < b.length; i += unit) for (let k = 0; k < unit; k++) out[i + k] = b[i + unit - 1 - k]!;
  return out;
}

describe('byte swap (tensor/byte-swap.ts)', () => {
  const bytes = Uint8Array.from({ length: 67 }, (_, i) => (i * 37 + 5) & 255);
  for (const unit of [2, 4, 8]) {
    it(`reverses every ${unit}-byte group, at any alignment, in place or not`, () => {
      for (let offset = 0; offset < 8; offset++) {
        const n = Math.floor((bytes.length - offset) / unit) * unit;
        const src = bytes.subarray(offset, offset + n);
        const want = naiveSwap(src, unit);
        expect(swapped(src, unit)).toEqual(want);
        const copy = src.slice();
        swapInto(copy, copy, unit);
        expect(copy).toEqual(want);
        const dst = new Uint8Array(n + 3).subarray(3);
        swapInto(src, dst, unit);
        expect(dst).toEqual(want);
      }
    });
  }

  it('refuses a length that is not whole groups, and leaves a stream untouched by unit 1', async () => {
    expect(() => swapped(new Uint8Array(3), 2)).toThrow(TensorsafeError);
    const chunks = [new Uint8Array([1, 2]), new Uint8Array([3, 4, 5, 6])];
    const out: number[][] = [];
    for await (const c of swapChunks(toStream(chunks), 2)) out.push([...c]);
    expect(out).toEqual([[2, 1], [4, 3, 6, 5]]);
    expect([...chunks[0]!]).toEqual([1, 2]); // the input is never written to
    const same: Uint8Array[] = [];
    for await (const c of swapChunks(toStream(chunks), 1)) same.push(c);
    expect(same).toEqual(chunks);
  });
});

async function* toStream(chunks: Uint8Array[]): AsyncGenerator<Uint8Array> {
  yield* chunks;
}

describe('stream window (tensor/stream-window.ts)', () => {
  it('cuts [skip, skip + length) out of a stream in chunks, whatever the input chunking', async () => {
    const whole = Uint8Array.from({ length: 100 }, (_, i) => i);
    for (const cut of [1, 3, 7, 50, 100]) {
      const input: Uint8Array[] = [];
      for (let at = 0; at < whole.length; at += cut) input.push(whole.subarray(at, at + cut));
      for (const [skip, length, chunk] of [[0, 100, 8], [10, 80, 16], [13, 1, 4], [99, 1, 8], [5, 0, 8]] as const) {
        const got: number[] = [];
        for await (const c of streamWindow(toStream(input), skip, length, chunk, 'test')) {
          expect(c.byteLength).toBeLessThanOrEqual(chunk);
          got.push(...c);
        }
        expect(got).toEqual([...whole.subarray(skip, skip + length)]);
      }
    }
  });

  it('a stream that ends early is an error', async () => {
    const run = async (): Promise<void> => {
      for await (const _ of streamWindow(toStream([new Uint8Array(10)]), 4, 10, 8, 'x.npy')) void _;
    };
    await expect(run()).rejects.toThrow(/x\.npy: the data ends after 6 of its 10 bytes/);
  });
});

describe('NumPy reader', () => {
  it('names a .npy tensor by the file name without its last extension, whatever it is', () => {
    expect(npyTensorName('/models/embed.npy')).toBe('embed');
    expect(npyTensorName('/models/pytorch_model.bin')).toBe('pytorch_model');
    expect(npyTensorName('a.tar.gz')).toBe('a.tar');
    expect(npyTensorName('/x/.bin')).toBe('array');
    expect(npyTensorName('C:\\w\\Layer.0.NPY')).toBe('Layer.0');
    expect(npyTensorName('https://host/a/w.npy?download=1#x')).toBe('w');
    expect(npyTensorName('memory')).toBe('memory');
    expect(npyTensorName('/x/.npy')).toBe('array');
  });

  it('detects .npy by its magic and .npz by its listing, and nothing else', async () => {
    expect((await detectSourceFormat(fixture('dtype_f4.npy')))?.id).toBe('numpy');
    expect((await detectSourceFormat(fixture('compressed.npz')))?.id).toBe('numpy');
    expect(numpyFormat.detect({ head: new Uint8Array(4), size: 4, container: 'zip', entries: ['a.npy', 'b.txt'] })).toBe(false);
    expect(numpyFormat.detect({ head: new Uint8Array(4), size: 4, container: 'zip', entries: ['d/', 'd/a.npy'] })).toBe(true);
    expect(numpyFormat.detect({ head: new Uint8Array(4), size: 4, container: 'zip', entries: [] })).toBe(false);
    expect(numpyFormat.detect({ head: new Uint8Array(4), size: 4, container: 'zip' })).toBe(false);
  });

  it('opening reads the headers only; the bytes are read when streamed', async () => {
    const npy = new CountingSource(fixture('dtype_f8.npy'));
    const set = (await numpyReader.open!(npy)).tensors;
    expect(npy.bytesRead).toBeLessThanOrEqual(512 + NPY_HEADER_PAGE_BYTES);
    const big = new Uint8Array(1 << 20).fill(7);
    const header = "{'descr': '<f4', 'fortran_order': False, 'shape': (262144,), }";
    const file = new Uint8Array(10 + 118 + big.length);
    file.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0, 118, 0]);
    file.set(Buffer.from(header.padEnd(117, ' ') + '\n', 'latin1'), 10);
    file.set(big, 128);
    const counted = new CountingSource(new MemorySource(file, 'big.npy'));
    const opened = (await numpyReader.open!(counted)).tensors;
    expect(opened.tensors[0]!.byteLength).toBe(big.length);
    expect(counted.bytesRead).toBeLessThan(16 * 1024);
    expect(sha256(await readEntry(opened.tensors[0]!))).toBe(sha256(big));
    await set.close();
  });

  it('says what it did: big-endian swapped, Fortran order gathered', async () => {
    const { tensors, structure } = await numpyReader.open!(fixture('stored.npz'));
    expect(tensors.format).toBe('npz');
    expect(tensors.notes.join('\n')).toMatch(/big-endian arrays byte-swapped to little-endian: `big`/);
    expect(tensors.notes.join('\n')).toMatch(/Fortran-order arrays gathered to row-major \(C\) order: `fortran`/);
    expect(structure.container).toBe('npz');
    expect(structure.arrays.map((a) => a.member)).toEqual(tensors.tensors.map((t) => `${t.name}.npy`));
    expect(tensors.tensors.every((t) => t.fidelity === 'exact')).toBe(true);
  });

  it('refusals are coded and name the file and member', async () => {
    const refusal = async (f: string): Promise<TensorsafeError> => {
      try {
        await numpyReader.open!(fixture(f));
      } catch (e) {
        if (e instanceof TensorsafeError) return e;
        throw e;
      }
      throw new Error(`${f} opened`);
    };
    const obj = await refusal('object_member.npz');
    expect(obj.code).toBe('ObjectArray');
    expect(obj.message).toMatch(/object_member\.npz:bad\.npy: an object array .*a pickle, which tensorsafe never reads or runs/);
    expect((await refusal('structured.npy')).message).toMatch(/structured\.npy: dtype .*structured dtype/);
    // The descr as written, not a word for it (bounded: MAX_PY_REPR_CHARS).
    expect((await refusal('structured.npy')).message).toContain(`dtype "[('a', '<i4'), ('b', '<f8')]"`);
    expect((await refusal('complex128.npy')).message).toMatch(/complex64 \(C64\) only/);
    const notNumpy = await numpyReader.open!(new MemorySource(new Uint8Array(64), 'zeros.bin')).catch((e: unknown) => e);
    expect((notNumpy as TensorsafeError).code).toBe('NotNumpy');
  });

  it('a bool in the shape, which numpy.load refuses ("an integer is required"), is refused', async () => {
    const dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (True, 4), }";
    const header = dict + ' '.repeat(128 - 10 - dict.length - 1) + '\n';
    const bytes = new Uint8Array([0x93, ...new TextEncoder().encode('NUMPY'), 1, 0, header.length, 0, ...new TextEncoder().encode(header), ...new Uint8Array(16)]);
    const e = await numpyReader.open!(new MemorySource(bytes, 'boolshape.npy')).catch((x: unknown) => x);
    expect(e).toMatchObject({ code: 'InvalidNumpy', message: expect.stringMatching(/boolshape\.npy.*shape is not a tuple of non-negative integers/) });
  });

  it('what is not NumPy is named for what it is (formats/detect.ts), as the torch reader names it', async () => {
    const pointer = new MemorySource(new TextEncoder().encode('version https://git-lfs.github.com/spec/v1\noid sha256:00\nsize 1\n'), 'pointer.npz');
    await expect(numpyReader.open!(pointer)).rejects.toMatchObject({ code: 'NotNumpy', message: 'pointer.npz is not a NumPy file: it is a Git LFS pointer (the model itself was not downloaded: run git lfs pull)' });
    const page = new MemorySource(new TextEncoder().encode('<!DOCTYPE html><html></html>'), 'page.npy');
    await expect(numpyReader.open!(page)).rejects.toMatchObject({ code: 'NotNumpy', message: expect.stringMatching(/^page\.npy is not a NumPy file: it is an HTML page/) });
  });

  it('has no framework: loaders know pt, tf, flax, mlx, not "np", so no `format` metadata is written for it', () => {
    expect(numpyFormat.framework).toBeUndefined();
  });

  it('an .npz member that is not an array is left out, not read', async () => {
    const { zipSync } = await import('fflate');
    const npy = new Uint8Array(fs.readFileSync(path.join(DIR, 'dtype_i4.npy')));
    const zip = zipSync({ 'w.npy': [npy, { level: 0 }], 'README.txt': [new Uint8Array([104, 105]), { level: 0 }] });
    const { tensors } = await numpyReader.open!(new MemorySource(zip, 'mixed.npz'));
    expect(tensors.tensors.map((t) => t.name)).toEqual(['w']);
    expect(tensors.leftOut).toEqual([{ path: 'README.txt', what: 'a 2-byte member that is not an .npy array' }]);
  });

  it('a deflated member whose bytes were changed fails its CRC when streamed', async () => {
    const bytes = new Uint8Array(fs.readFileSync(path.join(DIR, 'compressed.npz')));
    const { openZip } = await import('../src/formats/zip/index.js');
    const zip = await openZip(new MemorySource(bytes));
    const member = zip.entries.find((e) => e.name === 'weight.npy')!;
    // Corrupt the stored CRC in the central directory and the local header: the data still inflates.
    const crc = new DataView(bytes.buffer).getUint32(member.localHeaderOffset + 14, true);
    for (let i = 0; i + 4 <= bytes.length; i++) if (new DataView(bytes.buffer).getUint32(i, true) === crc) new DataView(bytes.buffer).setUint32(i, crc ^ 1, true);
    const { tensors } = await numpyReader.open!(new MemorySource(bytes, 'crc.npz'));
    const err = await readEntry(tensors.tensors.find((t) => t.name === 'weight')!).catch((e: unknown) => e);
    expect((err as TensorsafeError).code).toBe('BadCrc');
  });

  it('scan rules: a .npy is valid plain data; an object array is a pickle passed to the pickle analysis', async () => {
    const run = async (f: string, parsed: boolean): Promise<{ findings: Finding[]; pickles: string[] }> => {
      const findings: Finding[] = [];
      const pickles: string[] = [];
      const source = fixture(f);
      const ctx = { file: f, dir: undefined, report: (x: Finding) => void findings.push(x), scanPickle: (_: Uint8Array, where: string) => void pickles.push(where) };
      await numpyReader.scan!(source, ctx, parsed ? await numpyReader.open!(source) : undefined);
      return { findings, pickles };
    };
    for (const parsed of [false, true]) {
      const ok = await run('fortran_big_f8.npy', parsed);
      expect(ok.findings.map((x) => x.rule)).toEqual(['npy/valid']);
      expect(ok.findings[0]!.message).toMatch(/dtype ">f8", shape \(4, 5\), Fortran order/);
    }
    const obj = await run('object.npy', false);
    expect(obj.findings.map((x) => x.rule)).toEqual(['npy/object-array']);
    expect(obj.pickles).toHaveLength(1);
    const npz = await run('compressed.npz', true);
    expect(npz.findings.map((x) => x.location)).toContain('compressed.npz:layer/w.npy');
    expect(npz.findings.every((x) => x.rule === 'npy/valid')).toBe(true);
  });
});

describe('NumPy to safetensors through the writer', () => {
  for (const f of ['stored.npz', 'compressed.npz', 'compressed_large.npz', 'fortran_big_f8.npy', 'big_c8.npy', 'scalar_big_i4.npy', 'empty_2d_i8.npy']) {
    it(`${f}: written, reopened, the same bytes as numpy's`, async () => {
      const { tensors } = await numpyReader.open!(fixture(f));
      const sink = new MemorySink();
      await writeTensors(tensors.tensors, sink, { chunkBytes: 40 });
      await sink.close();
      const reopened = (await safetensorsReader.open!(new MemorySource(sink.bytes, `${f}.safetensors`))).tensors;
      const want = new Map(expectedOf(f).tensors.map((t) => [t.name, t.sha256]));
      expect(reopened.tensors.map((t) => t.name).sort()).toEqual([...want.keys()].sort());
      for (const t of tensors.tensors) {
        const back = reopened.tensors.find((r) => r.name === t.name)!;
        expect([back.dtype, back.shape]).toEqual([t.dtype, t.shape]);
        const bytes = await readEntry(back);
        expect(bytes).toEqual(await readEntry(t));
        expect([t.name, sha256(bytes)]).toEqual([t.name, want.get(t.name)]);
      }
    });
  }
});
