// Consistency of the PyTorch checkpoint fixtures in test/fixtures/torch/, written by
// scripts/make-torch-fixtures.py (run with /usr/bin/python3, which has torch). These checks need no
// torch: they catch a broken or partial regeneration (missing files, bad expected values, wrong
// sizes), not converter bugs; the converter's own tests use the same fixtures.
import { describe, expect, it } from 'vitest';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures', 'torch');

const DTYPE_SIZES: Record<string, number> = {
  F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, BOOL: 1, C64: 8,
};
const FORMATS = new Set(['zip', 'legacy', 'tar', 'torchscript', 'pickle']);
// Little-endian bytes of torch's legacy MAGIC_NUMBER 0x1950a86a20f9469cfc6c, as pickled by LONG1.
const LEGACY_MAGIC = Buffer.from('8a0a6cfc9c46f9206aa85019', 'hex');
const LEGACY_MAGIC_TEXT = Buffer.from('L119547037146038801333356L\n', 'latin1');

interface TensorEntry { dtype: string; shape: number[]; hex?: string; sha256?: string }
interface Expected {
  source: string;
  torch: string;
  format: string;
  key: string | null;
  other?: string[];
  tensors?: Record<string, TensorEntry>;
  shared?: string[][];
  same_storage?: string[][];
  expect_error?: string;
  notes: string;
  files?: string[];
  shards?: Record<string, string[]>;
  tied_across_files?: string[][];
}
interface Row { file: string; format: string; expected: string; exercises: string }

function readManifest(): { rows: Row[]; comments: string[] } {
  const text = fs.readFileSync(path.join(DIR, 'MANIFEST.tsv'), 'utf8');
  const lines = text.split('\n').filter((l) => l.length > 0);
  const comments = lines.filter((l) => l.startsWith('#'));
  const body = lines.filter((l) => !l.startsWith('#'));
  expect(body[0]).toBe('file\tformat\texpected\texercises');
  const rows = body.slice(1).map((l) => {
    const cols = l.split('\t');
    expect(cols, l).toHaveLength(4);
    const [file, format, expected, exercises] = cols as [string, string, string, string];
    return { file, format, expected, exercises };
  });
  return { rows, comments };
}

function readExpected(rel: string): Expected {
  return JSON.parse(fs.readFileSync(path.join(DIR, rel), 'utf8')) as Expected;
}

function listFiles(dir: string, prefix = ''): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? listFiles(path.join(dir, e.name), `${prefix}${e.name}/`) : [`${prefix}${e.name}`],
  );
}

const numel = (shape: number[]) => shape.reduce((a, b) => a * b, 1);
const sha256 = (b: Buffer) => crypto.createHash('sha256').update(b).digest('hex');

interface ZipEntry { name: string; method: number; size: number; dataStart: number; flags: number } // size: compressed

/** The central directory of an uncompressed, non-ZIP64 zip, with each local header checked. */
function zipEntries(buf: Buffer): ZipEntry[] {
  let eocd = -1;
  for (let i = buf.length - 22; i >= Math.max(0, buf.length - 22 - 0xffff); i--) {
    if (buf.readUInt32LE(i) === 0x06054b50) { eocd = i; break; }
  }
  if (eocd < 0) throw new Error('no end of central directory');
  const count = buf.readUInt16LE(eocd + 10);
  let p = buf.readUInt32LE(eocd + 16);
  const out: ZipEntry[] = [];
  for (let i = 0; i < count; i++) {
    if (buf.readUInt32LE(p) !== 0x02014b50) throw new Error(`bad central header ${i}`);
    const flags = buf.readUInt16LE(p + 8);
    const method = buf.readUInt16LE(p + 10);
    const size = buf.readUInt32LE(p + 20);
    const nameLen = buf.readUInt16LE(p + 28);
    const extraLen = buf.readUInt16LE(p + 30);
    const commentLen = buf.readUInt16LE(p + 32);
    const local = buf.readUInt32LE(p + 42);
    const name = buf.subarray(p + 46, p + 46 + nameLen).toString('utf8');
    if (buf.readUInt32LE(local) !== 0x04034b50) throw new Error(`bad local header for ${name}`);
    const lName = buf.readUInt16LE(local + 26);
    const lExtra = buf.readUInt16LE(local + 28);
    if (buf.subarray(local + 30, local + 30 + lName).toString('utf8') !== name) throw new Error(`name mismatch ${name}`);
    const dataStart = local + 30 + lName + lExtra;
    if (dataStart + size > buf.length) throw new Error(`${name} runs past the end`);
    out.push({ name, method, size, dataStart, flags });
    p += 46 + nameLen + extraLen + commentLen;
  }
  return out;
}

const { rows, comments } = readManifest();

describe('torch fixture manifest', () => {
  it('lists files that exist, with known formats, each with an expected file', () => {
    expect(rows.length).toBeGreaterThan(30);
    const seen = new Set<string>();
    for (const r of rows) {
      expect(seen.has(r.file), `duplicate row ${r.file}`).toBe(false);
      seen.add(r.file);
      expect(fs.existsSync(path.join(DIR, r.file)), r.file).toBe(true);
      expect(fs.existsSync(path.join(DIR, r.expected)), r.expected).toBe(true);
      expect(r.format === 'index' || FORMATS.has(r.format), `${r.file}: ${r.format}`).toBe(true);
      expect(r.exercises.length, r.file).toBeGreaterThan(10);
    }
  });

  it('accounts for every file in the fixture folder', () => {
    const listed = new Set(rows.flatMap((r) => [r.file, r.expected]));
    listed.add('MANIFEST.tsv');
    expect(listFiles(DIR).filter((f) => !listed.has(f)).sort()).toEqual([]);
  });

  it('records what torch 1.13 could not produce', () => {
    expect(comments.some((c) => /not produced.*tar/i.test(c))).toBe(true);
    expect(comments.some((c) => /not produced.*big-endian/i.test(c))).toBe(true);
  });

  it('keeps every file small', () => {
    let total = 0;
    for (const f of listFiles(DIR)) {
      const size = fs.statSync(path.join(DIR, f)).size;
      total += size;
      if (f === 'sample/pytorch_model.bin') {
        expect(size).toBeGreaterThan(100_000);
        expect(size).toBeLessThan(300_000);
      } else {
        expect(size, f).toBeLessThan(100_000);
      }
    }
    expect(total).toBeLessThan(2_000_000);
  });

  it('covers the required cases', () => {
    const files = new Set(rows.map((r) => r.file));
    for (const f of [
      'dtypes_zip.pt', 'dtypes_legacy.pt', 'shapes_zip.pt', 'views_nobase_zip.pt', 'views_base_zip.pt', 'strides_zip.pt',
      'tied_zip.pt', 'split_views_zip.pt', 'model_state_dict.bin', 'parameters_zip.pt', 'training_checkpoint.pt',
      'lightning_like.ckpt', 'wrapped_model.pt', 'wrapped_module.pt', 'sharded/pytorch_model.bin.index.json',
      'byteorder_big_zip.pt', 'protocol4_zip.pt', 'protocol5_zip.pt', 'protocol1_legacy.pt', 'torchscript_module.pt',
      'bare_pickle.pkl', 'quantized_zip.pt', 'complex128_zip.pt', 'sparse_zip.pt', 'sample/pytorch_model.bin',
    ]) {
      expect(files.has(f), f).toBe(true);
    }
    const dtypes = new Set(Object.values(readExpected('dtypes_zip.expected.json').tensors ?? {}).map((t) => t.dtype));
    expect([...dtypes].sort()).toEqual(Object.keys(DTYPE_SIZES).sort());
  });
});

describe.each([...new Set(rows.map((r) => r.expected))])('expected values %s', (rel) => {
  const exp = readExpected(rel);
  const mine = rows.filter((r) => r.expected === rel);

  it('has the common fields', () => {
    expect(exp.torch).toMatch(/^1\.13\./);
    expect(FORMATS.has(exp.format), exp.format).toBe(true);
    expect(exp.key === null || typeof exp.key === 'string').toBe(true);
    expect(typeof exp.notes).toBe('string');
    // The source is the checkpoint (or, for a sharded set, the index) next to the expected file.
    const source = path.join(path.dirname(rel), exp.source);
    expect(mine.map((r) => r.file)).toContain(source.split(path.sep).join('/'));
    expect(fs.existsSync(path.join(DIR, source))).toBe(true);
    if (exp.other !== undefined) {
      expect(exp.key).not.toBeNull();
      expect(exp.other.every((k) => typeof k === 'string' && k !== exp.key)).toBe(true);
    }
  });

  it('has either an expected error or consistent tensors', () => {
    if (exp.expect_error !== undefined) {
      expect(exp.expect_error.length).toBeGreaterThan(5);
      expect(exp.tensors).toBeUndefined();
      return;
    }
    const tensors = exp.tensors;
    expect(tensors).toBeDefined();
    expect(Object.keys(tensors!).length).toBeGreaterThan(0);
    for (const [name, t] of Object.entries(tensors!)) {
      const size = DTYPE_SIZES[t.dtype];
      expect(size, `${name}: dtype ${t.dtype}`).toBeDefined();
      expect(Array.isArray(t.shape) && t.shape.every((d) => Number.isInteger(d) && d >= 0), name).toBe(true);
      const nbytes = numel(t.shape) * size!;
      expect(t.hex !== undefined || t.sha256 !== undefined, name).toBe(true);
      if (t.sha256 !== undefined) expect(t.sha256, name).toMatch(/^[0-9a-f]{64}$/);
      if (t.hex !== undefined) {
        expect(t.hex, name).toMatch(/^([0-9a-f]{2})*$/);
        expect(t.hex.length / 2, `${name}: ${t.dtype} ${JSON.stringify(t.shape)}`).toBe(nbytes);
        if (t.sha256 !== undefined) expect(sha256(Buffer.from(t.hex, 'hex')), name).toBe(t.sha256);
      }
    }
    const names = new Set(Object.keys(tensors!));
    const checkGroups = (groups: string[][] | undefined, label: string) => {
      expect(Array.isArray(groups), label).toBe(true);
      const used = new Set<string>();
      for (const g of groups!) {
        expect(g.length, label).toBeGreaterThanOrEqual(2);
        for (const n of g) {
          expect(names.has(n), `${label}: ${n}`).toBe(true);
          expect(used.has(n), `${label}: ${n} in two groups`).toBe(false);
          used.add(n);
        }
      }
    };
    checkGroups(exp.shared, 'shared');
    checkGroups(exp.same_storage, 'same_storage');
    for (const g of exp.shared!) {
      // One identical view: same dtype, shape and bytes; and one storage.
      const first = tensors![g[0]!]!;
      for (const n of g) {
        expect(tensors![n]!.dtype).toBe(first.dtype);
        expect(tensors![n]!.shape).toEqual(first.shape);
        expect(tensors![n]!.sha256 ?? tensors![n]!.hex).toBe(first.sha256 ?? first.hex);
      }
      expect(exp.same_storage!.some((s) => g.every((n) => s.includes(n))), JSON.stringify(g)).toBe(true);
    }
  });

  it('names checkpoints that look like their format', () => {
    for (const r of mine) {
      const buf = fs.readFileSync(path.join(DIR, r.file));
      if (r.format === 'index') {
        const index = JSON.parse(buf.toString('utf8')) as { metadata: { total_size: number }; weight_map: Record<string, string> };
        expect(Object.keys(index.weight_map).sort()).toEqual(Object.keys(exp.tensors ?? {}).sort());
        const total = Object.values(exp.tensors!).reduce((a, t) => a + numel(t.shape) * DTYPE_SIZES[t.dtype]!, 0);
        expect(index.metadata.total_size).toBe(total);
        for (const f of new Set(Object.values(index.weight_map))) {
          expect(rows.map((x) => x.file)).toContain(`${path.dirname(r.file)}/${f}`);
        }
        for (const [f, names] of Object.entries(exp.shards ?? {})) {
          for (const n of names) expect(index.weight_map[n]).toBe(f);
        }
        for (const g of exp.tied_across_files ?? []) {
          expect(new Set(g.map((n) => index.weight_map[n])).size, 'tied names in different shards').toBe(g.length);
          expect(new Set(g.map((n) => exp.tensors![n]!.sha256)).size).toBe(1);
        }
        continue;
      }
      if (r.format === 'zip' || r.format === 'torchscript') {
        expect(buf.subarray(0, 4).toString('latin1'), r.file).toBe('PK\x03\x04');
        const entries = zipEntries(buf);
        const prefix = entries[0]!.name.split('/')[0]!;
        expect(entries.every((e) => e.name.startsWith(`${prefix}/`)), r.file).toBe(true);
        expect(entries.filter((e) => e.name === `${prefix}/data.pkl`), r.file).toHaveLength(1);
        for (const e of entries) {
          // TorchScript deflates its code/ records (method 8); everything else torch stores, 64-byte aligned.
          if (r.format === 'torchscript' && e.name.startsWith(`${prefix}/code/`)) {
            expect(e.method, `${r.file}: ${e.name}`).toBe(8);
            continue;
          }
          expect(e.method, `${r.file}: ${e.name}`).toBe(0);
          expect(e.dataStart % 64, `${r.file}: ${e.name} data alignment`).toBe(0);
        }
        const hasCode = entries.some((e) => e.name.startsWith(`${prefix}/code/`));
        const hasConstants = entries.some((e) => e.name === `${prefix}/constants.pkl`);
        expect(hasCode && hasConstants, `${r.file}: TorchScript records`).toBe(r.format === 'torchscript');
        if (/byteorder_(big|little)/.test(r.file)) {
          const bo = entries.find((e) => e.name === `${prefix}/byteorder`);
          expect(bo, r.file).toBeDefined();
          expect(buf.subarray(bo!.dataStart, bo!.dataStart + bo!.size).toString('latin1')).toBe(r.file.includes('big') ? 'big' : 'little');
        }
        // Storage records exist for a checkpoint with non-empty tensors.
        if (exp.tensors && Object.values(exp.tensors).some((t) => numel(t.shape) > 0)) {
          expect(entries.some((e) => e.name.startsWith(`${prefix}/data/`) && e.size > 0), r.file).toBe(true);
        }
      } else if (r.format === 'legacy') {
        const framed = buf.indexOf(LEGACY_MAGIC);
        const text = buf.subarray(0, LEGACY_MAGIC_TEXT.length).equals(LEGACY_MAGIC_TEXT);
        expect(text || (framed >= 2 && framed <= 11), `${r.file}: legacy magic number`).toBe(true);
      } else if (r.format === 'tar') {
        expect(buf.subarray(257, 262).toString('latin1'), r.file).toBe('ustar');
        expect(buf.length % 512).toBe(0);
      } else if (r.format === 'pickle') {
        expect(buf[0], r.file).toBe(0x80);
        expect(buf.indexOf(LEGACY_MAGIC), r.file).toBe(-1);
      }
    }
  });
});
