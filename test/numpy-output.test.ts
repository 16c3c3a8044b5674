import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { npyHeader } from '../src/convert/npy-header.js';
import { centralDirectory, localHeader, type ZipMember } from '../src/convert/zip-layout.js';
import { crc32, openZip } from '../src/formats/zip/index.js';
import { MemorySource } from '../src/io/byte-source.js';
import { convertModel } from '../src/node/convert.js';
import { openModel } from '../src/node/open-model.js';
import type { TensorEntry } from '../src/tensor/tensor-set.js';
import { expectConvertedTensors } from './helpers/assertions.js';
import { runCli } from './helpers/cli.js';
import { tempDir } from './helpers/temp.js';

/**
 * `--to npz` and `--to npy`: the fixtures of the formats with exact tensors converted to NumPy files,
 * read back by tensorsafe's own NumPy reader (every tensor's dtype, shape and SHA-256 the fixture's),
 * and, where python3 has numpy, by numpy.load(allow_pickle=False) too. Dtypes NumPy has no equivalent
 * of are refused before any byte is written.
 */

const ROOT = path.join(import.meta.dirname, 'fixtures', 'formats');
const NO_NUMPY_DTYPE = /^(BF16|F8_)/;

interface Expected {
  tensors?: { name: string; dtype: string; shape: number[]; sha256: string; fidelity?: string }[];
  error?: string;
}

const HAS_NUMPY = spawnSync('/usr/bin/python3', ['-I', '-c', 'import numpy'], { encoding: 'utf8' }).status === 0;
if (!HAS_NUMPY) console.log('numpy-output: /usr/bin/python3 has no numpy, the numpy.load read-backs are skipped');

async function digest(t: TensorEntry): Promise<string> {
  const h = createHash('sha256');
  for await (const c of t.chunks(1 << 16)) h.update(c);
  return h.digest('hex');
}

/** numpy.load(allow_pickle=False) of `file`: every array's dtype.str, shape and SHA-256 of its bytes. */
function numpyLoad(file: string): Record<string, { descr: string; shape: number[]; sha256: string }> {
  const script = `
import hashlib, json, sys, numpy
f = numpy.load(sys.argv[1], allow_pickle=False)
arrays = dict(f.items()) if hasattr(f, 'files') else {'': f}
print(json.dumps({k: {'descr': a.dtype.str, 'shape': list(a.shape), 'sha256': hashlib.sha256(numpy.ascontiguousarray(a).tobytes()).hexdigest()} for k, a in arrays.items()}))
`;
  const r = spawnSync('/usr/bin/python3', ['-I', '-c', script, file], { encoding: 'utf8', maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(`numpy.load failed: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

const fixtures: { id: string; file: string; expected: Expected }[] = [];
for (const id of ['pytorch', 'safetensors', 'numpy']) {
  const dir = path.join(ROOT, id);
  for (const file of fs.readdirSync(dir).filter((f) => !f.endsWith('.expected.json') && fs.existsSync(path.join(dir, `${f}.expected.json`)))) {
    const expected = JSON.parse(fs.readFileSync(path.join(dir, `${file}.expected.json`), 'utf8')) as Expected;
    if (expected.error !== undefined || !expected.tensors?.length || expected.tensors.some((t) => (t.fidelity ?? 'exact') !== 'exact')) continue;
    fixtures.push({ id, file, expected });
  }
}

describe('convert --to npz', () => {
  const out = tempDir('npz-output');
  it('has fixtures of every source format to convert', () => {
    expect(new Set(fixtures.map((f) => f.id))).toEqual(new Set(['pytorch', 'safetensors', 'numpy']));
  });
  for (const { id, file, expected } of fixtures) {
    it(`${id}/${file}`, async () => {
      const target = path.join(out, id, file.replace(/[^\w.-]/g, '_'));
      fs.mkdirSync(target, { recursive: true });
      const converting = convertModel(path.join(ROOT, id, file), { output: target, to: 'npz' });
      const refused = expected.tensors!.find((t) => NO_NUMPY_DTYPE.test(t.dtype));
      if (refused) {
        await expect(converting).rejects.toMatchObject({ code: 'UnsupportedTensor', message: expect.stringContaining('no NumPy dtype') });
        expect(fs.readdirSync(target)).toEqual([]);
        return;
      }
      const summary = await converting;
      expect(summary.verified).toBe(true);
      expect(summary.outputs).toHaveLength(1);
      expect(summary.outputs[0]!).toMatch(/\.npz$/);
      const written = await openModel(summary.outputs[0]!);
      try {
        expect(written.format).toBe('npz');
        await expectConvertedTensors(written.tensors, expected.tensors!, summary.sharedRemoved, digest);
      } finally {
        await written.close();
      }
      if (!HAS_NUMPY) return;
      const loaded = numpyLoad(summary.outputs[0]!);
      for (const want of expected.tensors!) {
        const got = loaded[summary.sharedRemoved[want.name] ?? want.name];
        expect([want.name, got?.shape, got?.sha256]).toEqual([want.name, want.shape, want.sha256]);
      }
    });
  }
});

describe('npy headers', () => {
  it('are numpy.lib.format version 1.0 headers, byte for byte', () => {
    const h = npyHeader('<f4', [3, 4]);
    expect(h.length % 64).toBe(0);
    const text = new TextDecoder().decode(h.subarray(10));
    expect(text).toMatch(/^\{'descr': '<f4', 'fortran_order': False, 'shape': \(3, 4\), \} +\n$/);
    expect([...h.subarray(0, 8)]).toEqual([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]);
  });
  it.skipIf(!HAS_NUMPY)('equal what numpy.save writes for 0-d, 1-d, n-d and long shapes', () => {
    const shapes = [[], [5], [3, 4], [2, 0, 7], Array.from({ length: 32 }, () => 1), [123456789, 1]];
    const script = `
import io, json, sys, numpy
out = []
for shape in json.loads(sys.argv[1]):
    b = io.BytesIO(); numpy.save(b, numpy.zeros(shape, '<f4')); v = b.getvalue()
    out.append(v[:len(v) - 4 * int(numpy.prod(shape))].hex())
print(json.dumps(out))
`;
    const r = spawnSync('/usr/bin/python3', ['-I', '-c', script, JSON.stringify(shapes)], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    expect(shapes.map((s) => Buffer.from(npyHeader('<f4', s)).toString('hex'))).toEqual(JSON.parse(r.stdout));
  });
});

describe('convert --to npy, refusals, and the CLI', () => {
  const out = tempDir('npy-output');
  it('some fixtures are refused for a dtype NumPy lacks, and some converted', () => {
    const refused = fixtures.filter((f) => f.expected.tensors!.some((t) => NO_NUMPY_DTYPE.test(t.dtype)));
    expect(refused.map((f) => f.file)).toContain('dtypes_zip.pt');
    expect(fixtures.length - refused.length).toBeGreaterThan(10);
  });

  it('a one-tensor model becomes one .npy that numpy.load reads back equal', async () => {
    const src = path.join(ROOT, 'numpy', 'dtype_f4.npy');
    const expected = JSON.parse(fs.readFileSync(`${src}.expected.json`, 'utf8')) as Expected;
    const summary = await convertModel(src, { output: path.join(out, 'one.npy'), to: 'npy' });
    expect(summary.verified).toBe(true);
    const written = await openModel(summary.outputs[0]!);
    try {
      expect(written.format).toBe('npy');
      const [t] = written.tensors;
      const want = expected.tensors![0]!;
      expect([t!.dtype, t!.shape, await digest(t!)]).toEqual([want.dtype, want.shape, want.sha256]);
    } finally {
      await written.close();
    }
    if (HAS_NUMPY) expect(numpyLoad(summary.outputs[0]!)['']).toMatchObject({ shape: expected.tensors![0]!.shape, sha256: expected.tensors![0]!.sha256 });
  });

  it('a model of several tensors is refused as .npy, and nothing is written', async () => {
    const target = path.join(out, 'many');
    fs.mkdirSync(target);
    await expect(convertModel(path.join(ROOT, 'numpy', 'compressed.npz'), { output: target, to: 'npy' })).rejects.toMatchObject({ code: 'InvalidArgument', message: expect.stringContaining('exactly one tensor') });
    expect(fs.readdirSync(target)).toEqual([]);
  });

  it('sharding a NumPy output is refused, and nothing is written', async () => {
    const target = path.join(out, 'sharded');
    fs.mkdirSync(target);
    await expect(convertModel(path.join(ROOT, 'numpy', 'compressed.npz'), { output: target, to: 'npz', maxShardSize: '64B' })).rejects.toMatchObject({ code: 'InvalidArgument' });
    expect(fs.readdirSync(target)).toEqual([]);
  });

  it('--sha256 (a record in safetensors metadata) is refused with a NumPy output, and nothing is written', async () => {
    const target = path.join(out, 'sha');
    fs.mkdirSync(target);
    await expect(convertModel(path.join(ROOT, 'numpy', 'compressed.npz'), { output: target, to: 'npz', sourceSha256: true })).rejects.toMatchObject({ code: 'InvalidArgument' });
    expect(fs.readdirSync(target)).toEqual([]);
  });

  it('tensorsafe convert --to npz writes an .npz; an unknown --to, or --to npz with --recursive, is a usage error', async () => {
    const target = path.join(out, 'cli');
    fs.mkdirSync(target);
    const ok = await runCli('convert', path.join(ROOT, 'numpy', 'compressed.npz'), '--to', 'npz', '-o', `${target}/`);
    expect([ok.code, ok.stderr]).toEqual([0, '']);
    expect(fs.readdirSync(target)).toEqual(['compressed.npz']);
    const unknown = await runCli('convert', path.join(ROOT, 'numpy', 'compressed.npz'), '--to', 'hdf5');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('safetensors, npz, npy');
    const recursive = await runCli('convert', target, '--recursive', '--to', 'npz');
    expect(recursive.code).toBe(2);
    expect(recursive.stderr).toContain('--recursive writes safetensors');
  });
});

describe('convert --to npz|npy --allow-raw', () => {
  const out = tempDir('npz-raw');
  const RAW_DESCR: Record<string, string> = { BF16: '<u2', F8_E5M2: '|u1', F8_E4M3: '|u1', F8_E8M0: '|u1', F8_E4M3FNUZ: '|u1', F8_E5M2FNUZ: '|u1' };
  const refused = fixtures.filter((f) => f.expected.tensors!.some((t) => NO_NUMPY_DTYPE.test(t.dtype)));
  it('has fixtures with BF16 and F8 tensors', () => {
    const dtypes = new Set(refused.flatMap((f) => f.expected.tensors!.map((t) => t.dtype)));
    expect(dtypes.has('BF16')).toBe(true);
    expect([...dtypes].some((d) => d.startsWith('F8_'))).toBe(true);
  });
  for (const { id, file, expected } of refused) {
    it(`${id}/${file}: BF16 and F8 stored as raw unsigned integers, bits unchanged, each named in the notes`, async () => {
      const target = path.join(out, id, file.replace(/[^\w.-]/g, '_'));
      fs.mkdirSync(target, { recursive: true });
      const summary = await convertModel(path.join(ROOT, id, file), { output: target, to: 'npz', allowRaw: true });
      expect(summary.verified).toBe(true);
      const raw = expected.tensors!.filter((t) => NO_NUMPY_DTYPE.test(t.dtype) && summary.sharedRemoved[t.name] === undefined);
      for (const t of raw) expect(summary.notes.some((n) => n.includes(`\`${t.name}\` is ${t.dtype}`) && n.includes(RAW_DESCR[t.dtype]!))).toBe(true);
      const written = await openModel(summary.outputs[0]!);
      try {
        for (const want of expected.tensors!) {
          const name = summary.sharedRemoved[want.name] ?? want.name;
          const t = written.tensors.find((x) => x.name === name)!;
          const dtype = NO_NUMPY_DTYPE.test(want.dtype) ? (RAW_DESCR[want.dtype] === '<u2' ? 'U16' : 'U8') : want.dtype;
          expect([want.name, t.dtype, t.shape, await digest(t)]).toEqual([want.name, dtype, want.shape, want.sha256]);
        }
      } finally {
        await written.close();
      }
      if (!HAS_NUMPY) return;
      const r = spawnSync('/usr/bin/python3', ['-I', path.join(import.meta.dirname, '..', 'scripts', 'numpy-load-bits.py'), summary.outputs[0]!], { encoding: 'utf8' });
      expect(r.status, r.stderr).toBe(0);
      const loaded = JSON.parse(r.stdout) as Record<string, { descr: string; shape: number[]; sha256: string }>;
      for (const want of raw) expect([want.name, loaded[want.name]]).toEqual([want.name, { descr: RAW_DESCR[want.dtype], shape: want.shape, sha256: want.sha256 }]);
    });
  }

  it('--to npy --allow-raw writes one BF16 tensor as <u2; without the flag it is refused and nothing is written', async () => {
    const src = path.join(ROOT, 'safetensors');
    const one = fs.readdirSync(src).find((f) => {
      if (f.endsWith('.expected.json') || !fs.existsSync(path.join(src, `${f}.expected.json`))) return false;
      const e = JSON.parse(fs.readFileSync(path.join(src, `${f}.expected.json`), 'utf8')) as Expected;
      return e.tensors?.length === 1 && e.tensors[0]!.dtype === 'BF16';
    });
    const file = one ? path.join(src, one) : undefined;
    let model = file;
    if (model === undefined) {
      // No one-tensor BF16 fixture: write one (safetensors is written by this project's tested writer).
      const { saveFile } = await import('../src/node.js');
      model = path.join(out, 'bf16.safetensors');
      await saveFile({ x: { dtype: 'BF16', shape: [3], data: new Uint16Array([0x3f80, 0xc000, 0x7fc0]) } }, model);
    }
    const target = path.join(out, 'npy');
    fs.mkdirSync(target);
    await expect(convertModel(model, { output: path.join(target, 'x.npy'), to: 'npy' })).rejects.toMatchObject({ code: 'UnsupportedTensor', message: expect.stringContaining('--allow-raw') });
    expect(fs.readdirSync(target)).toEqual([]);
    const summary = await convertModel(model, { output: path.join(target, 'x.npy'), to: 'npy', allowRaw: true });
    expect(summary.notes.some((n) => n.includes('<u2'))).toBe(true);
    const back = await openModel(summary.outputs[0]!);
    const source = await openModel(model);
    try {
      expect([back.tensors[0]!.dtype, await digest(back.tensors[0]!)]).toEqual(['U16', await digest(source.tensors[0]!)]);
    } finally {
      await back.close();
      await source.close();
    }
  });

  it('--allow-raw without a NumPy output is a usage error; with safetensors from the library, InvalidArgument', async () => {
    const cli = await runCli('convert', path.join(ROOT, 'numpy', 'compressed.npz'), '--allow-raw');
    expect(cli.code).toBe(2);
    expect(cli.stderr).toContain('--allow-raw goes with --to npz or --to npy');
    await expect(convertModel(path.join(ROOT, 'numpy', 'compressed.npz'), { output: path.join(out, 'x.safetensors'), allowRaw: true })).rejects.toMatchObject({ code: 'InvalidArgument' });
  });
});

describe('the zip records of an .npz', () => {
  it('65,536 members need the zip64 end records: the strict zip reader (and Python\'s zipfile) read every member', async () => {
    const count = 0x10000;
    const parts: Uint8Array[] = [];
    const members: ZipMember[] = [];
    let offset = 0;
    for (let i = 0; i < count; i++) {
      const name = new TextEncoder().encode(`t${i}.npy`);
      const data = new Uint8Array([i & 0xff, i >>> 8]);
      const crc = crc32(data);
      const local = localHeader({ name, size: data.length, crc });
      members.push({ name, size: data.length, crc, offset });
      parts.push(local, data);
      offset += local.length + data.length;
    }
    parts.push(centralDirectory(members, offset));
    const bytes = Buffer.concat(parts);
    // The classic end record says "see zip64": its counts are 0xFFFF.
    expect(bytes.readUInt16LE(bytes.length - 22 + 10)).toBe(0xffff);
    const zip = await openZip(new MemorySource(bytes, 'many.npz'));
    expect(zip.entries.length).toBe(count);
    const last = zip.entries[count - 1]!;
    expect([last.name, last.size, last.crc32, last.method]).toEqual([`t${count - 1}.npy`, 2, members[count - 1]!.crc, 0]);
    expect([...(await last.read())]).toEqual([0xff, 0xff]);
    if (!HAS_NUMPY) return;
    const file = path.join(tempDir('npz-zip64'), 'many.zip');
    fs.writeFileSync(file, bytes);
    const r = spawnSync('/usr/bin/python3', ['-I', '-c', 'import sys, zipfile; z = zipfile.ZipFile(sys.argv[1]); print(len(z.namelist()), z.testzip(), z.read("t65535.npy").hex())', file], { encoding: 'utf8' });
    expect([r.status, r.stdout.trim()]).toEqual([0, '65536 None ffff']);
  });
});

describe('npz member names', () => {
  it('a tensor whose name would leave the folder an npz is extracted to is refused before anything is written', async () => {
    const { saveFile } = await import('../src/node/files.js');
    const dir = tempDir('npz-slip');
    const src = path.join(dir, 'slip.safetensors');
    await saveFile({ '../evil': { dtype: 'F32', shape: [2], data: new Float32Array([1, 2]) }, ok: { dtype: 'F32', shape: [1], data: new Float32Array([3]) } }, src);
    const out = path.join(dir, 'out');
    fs.mkdirSync(out);
    await expect(convertModel(src, { to: 'npz', output: out })).rejects.toMatchObject({ code: 'InvalidTensorName', location: '../evil' });
    expect(fs.readdirSync(out)).toEqual([]);
  });
});
