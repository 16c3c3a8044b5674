import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { createHash } from 'node:crypto';
import { MemorySource, WindowSource, type ByteSource } from '../src/io/byte-source.js';
import { FileSource } from '../src/node/file-source.js';
import { TensorsafeError } from '../src/errors.js';
import {
  crc32,
  decodeCp437,
  isZip,
  MAX_INFLATED_ENTRY_BYTES,
  MAX_ZIP_ENTRIES,
  openZip,
  ZipError,
  type OpenZipOptions,
  type ZipArchive,
  type ZipErrorCode,
} from '../src/formats/zip/index.js';
import { BoundedInflater, inflateRawExact, inflateRawExactPortable, inflateZlibExactNative, inflateZlibExactNativeAsync, InflateProblem, nativeInflateRaw } from '../src/formats/zip/inflate.js';
import { buildZip, buildZipParts, concat, type CraftEntry, type Part } from './helpers/zip-writer.js';
import { ROOT } from './helpers/paths.js';

const FIXTURES = path.join(ROOT, 'test', 'fixtures', 'zip');
const enc = new TextEncoder();
const text = (b: Uint8Array) => new TextDecoder().decode(b);
const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

interface Expected {
  comment: string;
  entries: { name: string; method: number; flags: number; size: number; compressedSize: number; crc32: number; localHeaderOffset: number; sha256: string }[];
}
const expected = JSON.parse(fs.readFileSync(path.join(FIXTURES, 'expected.json'), 'utf8')) as Record<string, Expected>;

function fixture(name: string): MemorySource {
  return new MemorySource(new Uint8Array(fs.readFileSync(path.join(FIXTURES, name))), name);
}

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(TensorsafeError);
    return (e as TensorsafeError).code;
  }
  return 'no error';
}

const open = (bytes: Uint8Array, options?: OpenZipOptions) => openZip(new MemorySource(bytes, 'crafted.zip'), options);

describe('archives from real producers (CPython zipfile, torch.save, torch.jit.save, numpy.savez)', () => {
  const names = Object.keys(expected);

  it('has every fixture the generator writes', () => {
    expect(names).toEqual(
      expect.arrayContaining([
        'stored.zip',
        'deflated.zip',
        'utf8-names.zip',
        'cp437-names.zip',
        'zip64-forced.zip',
        'zip64-full.zip',
        'data-descriptors.zip',
        'empty.zip',
        'torch-arange.pt',
        'torch-state.pt',
        'torchscript.pt',
        'numpy.npz',
        'numpy-compressed.npz',
      ]),
    );
  });

  for (const name of names) {
    it(`${name}: strict open agrees with CPython's zipfile, entry by entry and byte by byte`, async () => {
      const source = fixture(name);
      const zip = await openZip(source);
      const want = expected[name]!;
      expect(zip.findings).toEqual([]);
      expect(zip.leadingBytes).toBe(0);
      expect(zip.trailingBytes).toBe(0);
      expect(zip.comment).toBe(want.comment);
      expect(zip.entries.map((e) => e.name)).toEqual(want.entries.map((e) => e.name));
      for (const [i, e] of zip.entries.entries()) {
        const w = want.entries[i]!;
        expect({ method: e.method, flags: e.flags, size: e.size, compressedSize: e.compressedSize, crc32: e.crc32, localHeaderOffset: e.localHeaderOffset }).toEqual({
          method: w.method,
          flags: w.flags,
          size: w.size,
          compressedSize: w.compressedSize,
          crc32: w.crc32,
          localHeaderOffset: w.localHeaderOffset,
        });
        expect(e.localName).toBe(e.name);
        expect(e.encrypted).toBe(false);
        const bytes = await e.read();
        expect(sha256(bytes)).toBe(w.sha256);
        expect(await e.checkCrc()).toBe(true);
        const s = await e.source();
        expect(s.size).toBe(e.size);
        expect(sha256(await s.read(0, s.size))).toBe(w.sha256);
        expect(zip.get(e.name)).toBe(e);
      }
    });
  }

  it('torch checkpoints: stored entries, 64-byte aligned data, data descriptors, ZIP64 end records; storages are zero-copy windows', async () => {
    const source = fixture('torch-arange.pt');
    const zip = await openZip(source);
    expect(zip.zip64).toBe(true);
    for (const e of zip.entries) {
      expect(e.method).toBe(0);
      expect(e.dataOffset % 64).toBe(0);
      expect(e.flags & 0x08).toBe(0x08);
    }
    const storage = zip.get('torch-arange/data/0')!;
    const window = await storage.source();
    expect(window).toBeInstanceOf(WindowSource);
    expect((window as WindowSource).parent).toBe(source);
    expect((window as WindowSource).offset).toBe(storage.dataOffset);
    const floats = new Float32Array((await window.read(0, 40)).slice().buffer);
    expect([...floats]).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(text(await zip.get('torch-arange/version')!.read())).toBe('3\n');
    expect([...(await zip.get('torch-arange/data.pkl')!.read()).subarray(0, 2)]).toEqual([0x80, 0x02]);
  });

  it('TorchScript archives: code/ and constants.pkl entries, some deflated', async () => {
    const zip = await openZip(fixture('torchscript.pt'));
    expect(zip.get('torchscript/constants.pkl')).toBeDefined();
    const code = zip.get('torchscript/code/__torch__.py')!;
    expect(code.method).toBe(8);
    expect(text(await code.read())).toContain('def forward');
    expect(await code.source()).toBeInstanceOf(MemorySource);
  });

  it('numpy .npz (stored and compressed) hold .npy members', async () => {
    for (const name of ['numpy.npz', 'numpy-compressed.npz']) {
      const zip = await openZip(fixture(name));
      const a = await zip.get('a.npy')!.read();
      expect(text(a.subarray(1, 6))).toBe('NUMPY');
    }
  });

  it('ZIP64: forced local ZIP64 extras and full ZIP64 end records and central extras', async () => {
    const forced = await openZip(fixture('zip64-forced.zip'));
    expect(forced.zip64).toBe(false);
    expect(text(await forced.get('small.txt')!.read())).toBe('forced zip64');
    const full = await openZip(fixture('zip64-full.zip'));
    expect(full.zip64).toBe(true);
    expect(full.comment).toBe('zip64 end records');
    expect(full.entries.every((e) => e.zip64)).toBe(true);
  });

  it('names: UTF-8 under flag 0x800, CP437 otherwise, as CPython decodes them', async () => {
    const utf8 = await openZip(fixture('utf8-names.zip'));
    expect(utf8.entries.map((e) => e.name)).toContain('emoji-🙂.txt');
    expect(utf8.entries.filter((e) => e.name !== 'plain.txt').every((e) => e.flags & 0x800)).toBe(true);
    const cp437 = await openZip(fixture('cp437-names.zip'));
    expect(cp437.entries.map((e) => e.name)).toEqual(['café.txt', 'Über-ß.txt']);
    expect(cp437.entries.every((e) => (e.flags & 0x800) === 0)).toBe(true);
  });

  it('the CP437 table matches the code page (Python cp437 codec)', () => {
    const all = decodeCp437(Uint8Array.from({ length: 256 }, (_, i) => i));
    expect(all.length).toBe(256);
    expect(all.slice(0, 128)).toBe(String.fromCharCode(...Array.from({ length: 128 }, (_, i) => i)));
    expect(all.slice(128, 144)).toBe('ÇüéâäàåçêëèïîìÄÅ');
    expect(all.slice(0xb0, 0xb4)).toBe('░▒▓│');
    expect(all.slice(0xe0, 0xf0)).toBe('αßΓπΣσµτΦΘΩδ∞φε∩');
    expect(all.slice(0xf0)).toBe('≡±≥≤⌠⌡÷≈°∙·√ⁿ²■\u00a0');
  });

  it('reads through a Node file source (coalesced local-header reads)', async () => {
    const source = FileSource.openSync(path.join(FIXTURES, 'torch-state.pt'));
    try {
      const zip = await openZip(source);
      expect(zip.entries.length).toBe(expected['torch-state.pt']!.entries.length);
      for (const e of zip.entries) expect(await e.checkCrc()).toBe(true);
    } finally {
      await source.close?.();
    }
  });

  it('empty archives', async () => {
    const zip = await openZip(fixture('empty.zip'));
    expect(zip.entries).toEqual([]);
    expect(isZip(fixture('empty.zip').bytes)).toBe(true);
  });
});

describe('isZip and crc32', () => {
  it('isZip looks at the first four bytes', () => {
    expect(isZip(enc.encode('PK\x03\x04rest'))).toBe(true);
    expect(isZip(enc.encode('PK\x05\x06'))).toBe(true);
    expect(isZip(enc.encode('PK\x01\x02'))).toBe(false);
    expect(isZip(enc.encode('PK\x03'))).toBe(false);
    expect(isZip(new Uint8Array(0))).toBe(false);
    expect(isZip(Uint8Array.of(0x80, 0x02))).toBe(false);
  });

  it('crc32 equals zlib.crc32, whole and chained', () => {
    expect(crc32(new Uint8Array(0))).toBe(0);
    expect(crc32(enc.encode('123456789'))).toBe(0xcbf43926);
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 3000 }), fc.nat(), (bytes, cut) => {
        const at = bytes.length === 0 ? 0 : cut % bytes.length;
        expect(crc32(bytes)).toBe(zlib.crc32(bytes));
        expect(crc32(bytes.subarray(at), crc32(bytes.subarray(0, at)))).toBe(zlib.crc32(bytes));
      }),
      { numRuns: 300 },
    );
  });
});

/** The kind of InflateProblem `f` throws; fails the test when it throws anything else or nothing. */
function kindOf(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    if (e instanceof InflateProblem) return e.kind;
    throw e;
  }
  throw new Error('no InflateProblem thrown');
}

describe('inflate (fflate, and the platform zlib) against Node zlib', () => {
  const compressible = fc
    .array(fc.oneof(fc.uint8Array({ minLength: 1, maxLength: 300 }), fc.record({ byte: fc.integer({ min: 0, max: 255 }), n: fc.integer({ min: 1, max: 5000 }) })), {
      maxLength: 40,
    })
    .map((pieces) => concat(pieces.map((p) => (p instanceof Uint8Array ? p : new Uint8Array(p.n).fill(p.byte)))));

  it('inflateRawExact(deflateRaw(x)) equals x and zlib.inflateRawSync, for any input chunking', () => {
    fc.assert(
      fc.property(compressible, fc.integer({ min: 0, max: 9 }), fc.integer({ min: 1, max: 70_000 }), (data, level, chunk) => {
        const compressed = new Uint8Array(zlib.deflateRawSync(data, { level }));
        for (const ours of [inflateRawExactPortable(compressed, data.length, chunk), inflateRawExact(compressed, data.length, chunk)]) {
          expect(Buffer.from(ours).equals(zlib.inflateRawSync(compressed))).toBe(true);
          expect(Buffer.from(ours).equals(data)).toBe(true);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('random bytes, random strategies: same output as zlib', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 20_000 }), fc.constantFrom(zlib.constants.Z_DEFAULT_STRATEGY, zlib.constants.Z_HUFFMAN_ONLY, zlib.constants.Z_RLE, zlib.constants.Z_FIXED), (data, strategy) => {
        const compressed = new Uint8Array(zlib.deflateRawSync(data, { strategy }));
        expect(Buffer.from(inflateRawExactPortable(compressed, data.length)).equals(zlib.inflateRawSync(compressed))).toBe(true);
        expect(Buffer.from(inflateRawExact(compressed, data.length)).equals(zlib.inflateRawSync(compressed))).toBe(true);
      }),
      { numRuns: 200 },
    );
  });

  it('output beyond the expected size stops the inflater early (TooLong); short output is TooShort', () => {
    const bomb = new Uint8Array(zlib.deflateRawSync(new Uint8Array(50_000_000)));
    expect(bomb.length).toBeLessThan(60_000);
    const inflater = new BoundedInflater(1000);
    expect(() => inflater.push(bomb, true)).toThrow(InflateProblem);
    const small = new Uint8Array(zlib.deflateRawSync(enc.encode('hello')));
    for (const inflate of [inflateRawExactPortable, inflateRawExact]) {
      expect(kindOf(() => inflate(bomb, 1000))).toBe('TooLong');
      expect(kindOf(() => inflate(small, 6))).toBe('TooShort');
      expect(() => inflate(small, 6)).toThrow(/not the declared 6/);
      expect(kindOf(() => inflate(small, 4))).toBe('TooLong');
      expect(kindOf(() => inflate(small.subarray(0, 3), 5))).toBe('BadDeflate');
      expect(Buffer.from(inflate(small, 5)).toString()).toBe('hello');
    }
  });

  it("Node's zlib is the one used here (the portable decoder is what browsers run)", () => {
    expect(nativeInflateRaw()).toBeTypeOf('function');
  });

  it('zlib streams through the platform zlib: exact size, Adler-32 checked, a bomb stops at the size', () => {
    const data = new Uint8Array(100_000).map((_, i) => (i * 7) & 0xff);
    const z = new Uint8Array(zlib.deflateSync(data));
    expect(Buffer.from(inflateZlibExactNative(z, data.length)!).equals(data)).toBe(true);
    expect(kindOf(() => inflateZlibExactNative(z, data.length + 1))).toBe('TooShort');
    expect(kindOf(() => inflateZlibExactNative(z, data.length - 1))).toBe('TooLong');
    const bad = z.slice();
    bad[bad.length - 1]! ^= 1;
    expect(() => inflateZlibExactNative(bad, data.length)).toThrow(/Adler-32/);
    const bomb = new Uint8Array(zlib.deflateSync(new Uint8Array(50_000_000)));
    expect(kindOf(() => inflateZlibExactNative(bomb, 1000))).toBe('TooLong');
  });

  it('zlib streams on the thread pool: the same output and the same bounds', async () => {
    const data = new Uint8Array(100_000).map((_, i) => (i * 7) & 0xff);
    const z = new Uint8Array(zlib.deflateSync(data));
    expect(Buffer.from((await inflateZlibExactNativeAsync(z, data.length))!).equals(data)).toBe(true);
    const kind = (p: Promise<Uint8Array> | undefined): Promise<string> => p!.then(() => 'none', (e: unknown) => (e instanceof InflateProblem ? e.kind : 'other'));
    expect(await kind(inflateZlibExactNativeAsync(z, data.length + 1))).toBe('TooShort');
    expect(await kind(inflateZlibExactNativeAsync(z, data.length - 1))).toBe('TooLong');
    const bad = z.slice();
    bad[bad.length - 1]! ^= 1;
    await expect(inflateZlibExactNativeAsync(bad, data.length)).rejects.toThrow(/Adler-32/);
    expect(await kind(inflateZlibExactNativeAsync(z.subarray(0, 50), data.length))).toBe('BadDeflate');
    const bomb = new Uint8Array(zlib.deflateSync(new Uint8Array(50_000_000)));
    expect(await kind(inflateZlibExactNativeAsync(bomb, 1000))).toBe('TooLong');
  });
});

/** A torch-like archive: stored entries under one prefix, data 64-byte aligned. */
const SAMPLE: CraftEntry[] = [
  { name: 'archive/data.pkl', data: '\x80\x02}q\x00.', align: 64 },
  { name: 'archive/data/0', data: new Uint8Array(40).fill(7), align: 64 },
  { name: 'archive/version', data: '3\n', align: 64 },
];

/** Opens strict (expects the code) and non-strict (expects a finding with that code); returns the non-strict archive. */
async function trick(bytes: Uint8Array, code: ZipErrorCode): Promise<ZipArchive> {
  const strictCode = await codeOf(open(bytes));
  expect(strictCode).toBe(code);
  const zip = await open(bytes, { strict: false });
  expect(zip.findings.map((f) => f.code)).toContain(code);
  for (const f of zip.findings) expect(f.message.length).toBeGreaterThan(0);
  return zip;
}

describe('crafted tricks: strict throws a coded ZipError, non-strict records a finding', () => {
  it('the sample itself is clean', async () => {
    const zip = await open(buildZip(SAMPLE));
    expect(zip.findings).toEqual([]);
    expect(zip.entries.every((e) => e.dataOffset % 64 === 0)).toBe(true);
    expect(text(await zip.get('archive/version')!.read())).toBe('3\n');
  });

  it('local header name differs from the central name (CVE-2025-1944)', async () => {
    const bytes = buildZip([{ name: 'archive/data.pkl', localName: 'archive/datap.kl', data: 'x' }, ...SAMPLE.slice(1)]);
    const zip = await trick(bytes, 'NameMismatch');
    const e = zip.entries[0]!;
    expect(e.name).toBe('archive/data.pkl');
    expect(e.localName).toBe('archive/datap.kl');
    expect(text(await e.read())).toBe('x');
    const finding = zip.findings.find((f) => f.code === 'NameMismatch')!;
    expect(finding.entry).toBe('archive/data.pkl');
    expect(finding.message).toContain('archive/datap.kl');
    try {
      await open(bytes);
    } catch (err) {
      expect(err).toBeInstanceOf(ZipError);
      expect((err as ZipError).entry).toBe('archive/data.pkl');
      expect((err as ZipError).offset).toBe(0);
      expect((err as ZipError).message).toMatch(/^crafted\.zip: entry "archive\/data\.pkl"/);
    }
  });

  it('duplicate names: both entries are kept, get() gives the first', async () => {
    const bytes = buildZip([{ name: 'archive/data.pkl', data: 'evil' }, { name: 'archive/data.pkl', data: 'good' }]);
    const zip = await trick(bytes, 'DuplicateName');
    expect(zip.entries.length).toBe(2);
    expect(text(await zip.get('archive/data.pkl')!.read())).toBe('evil');
    expect(text(await zip.entries[1]!.read())).toBe('good');
  });

  for (const name of ['../evil', 'a/../../evil', '/etc/passwd', 'C:/x', 'c:x', 'a\\b', 'nul\0byte', '', '..']) {
    it(`unsafe name ${JSON.stringify(name)}`, async () => {
      await trick(buildZip([{ name, data: 'x' }]), 'UnsafeName');
    });
  }

  it('names that only look unsafe are fine', async () => {
    const zip = await open(buildZip([{ name: 'a/..b/c..', data: '1' }, { name: 'x/.../y', data: '2' }, { name: 'dir/', data: '' }]));
    expect(zip.findings).toEqual([]);
    expect(zip.get('dir/')!.isDirectory).toBe(true);
  });

  it('invalid UTF-8 under flag 0x800 is an unsafe name; without the flag the bytes are CP437', async () => {
    await trick(buildZip([{ name: 'x', nameBytes: Uint8Array.of(0x61, 0xff, 0x62), flags: 0x800, data: 'x' }]), 'UnsafeName');
    const zip = await open(buildZip([{ name: 'x', nameBytes: Uint8Array.of(0x61, 0x82, 0xe1), data: 'x' }]));
    expect(zip.entries[0]!.name).toBe('aéß');
  });

  it('encrypted flag (CVE-2025-1945): non-strict reads the bytes as they are, like torch', async () => {
    const zip = await trick(buildZip([{ name: 'archive/data.pkl', data: 'payload', flags: 0x1 }]), 'Encrypted');
    expect(zip.entries[0]!.encrypted).toBe(true);
    expect(text(await zip.entries[0]!.read())).toBe('payload');
  });

  it('encrypted flag set only in the local header', async () => {
    const zip = await trick(buildZip([{ name: 'a', data: 'payload', localFlags: 0x1 }]), 'HeaderMismatch');
    expect(zip.findings.map((f) => f.code)).toEqual(['HeaderMismatch', 'Encrypted']);
    expect(zip.entries[0]!.encrypted).toBe(true);
  });

  for (const flag of [0x20, 0x40]) {
    it(`flag 0x${flag.toString(16)} (CVE-2025-1945)`, async () => {
      const zip = await trick(buildZip([{ name: 'archive/data.pkl', data: 'payload', flags: flag }]), 'OddFlags');
      expect(text(await zip.entries[0]!.read())).toBe('payload');
    });
  }

  it('unsupported method: open reports it, reading throws it, the raw bytes stay readable', async () => {
    // PPMd (98): read by neither torch's miniz nor Python's zipfile.
    const zip = await trick(buildZip([{ name: 'a.ppmd', method: 98, data: 'BZh9...' }]), 'UnsupportedMethod');
    const e = zip.entries[0]!;
    expect(await codeOf(e.read())).toBe('UnsupportedMethod');
    expect(await codeOf(e.source())).toBe('UnsupportedMethod');
    const raw = e.rawSource();
    expect(text(await raw.read(0, raw.size))).toBe('BZh9...');
  });

  it('bzip2 (12) and LZMA (14): strict archives (torch reads neither) refuse them, non-strict ones (scanners: np.load reads them) decode them', async () => {
    const bytes = buildZip([{ name: 'a.bin', method: 12, data: 'BZh9...' }]);
    expect(await codeOf(open(bytes))).toBe('UnsupportedMethod');
    const zip = await open(bytes, { strict: false });
    expect(zip.findings).toEqual([]);
    expect(await codeOf(zip.entries[0]!.read())).toBe('BadDeflate');
  });

  it('bad CRC (CVE-2025-10156): opens in both modes, checkCrc() is false', async () => {
    for (const method of [0, 8]) {
      const zip = await open(buildZip([{ name: 'archive/data.pkl', data: 'payload', crc: 1234, method }]));
      expect(zip.findings).toEqual([]);
      expect(await zip.entries[0]!.checkCrc()).toBe(false);
      expect(text(await zip.entries[0]!.read())).toBe('payload');
    }
  });

  it('prepended bytes, offsets not adjusted (cat file.pkl x.zip): the archive is found after them', async () => {
    const prefix = enc.encode('\x80\x02cposix\nsystem\nq\x00.');
    const zip = await trick(buildZip(SAMPLE, { prefix }), 'LeadingData');
    expect(zip.leadingBytes).toBe(prefix.length);
    expect(zip.entries[0]!.localHeaderOffset).toBe(prefix.length);
    expect(text(await zip.get('archive/version')!.read())).toBe('3\n');
    expect(zip.findings.find((f) => f.code === 'LeadingData')!.message).toContain('prepended');
  });

  it('prepended bytes, offsets adjusted (zip -A)', async () => {
    const prefix = new Uint8Array(100).fill(0x41);
    const zip = await trick(buildZip(SAMPLE, { prefix, shiftOffsets: true }), 'LeadingData');
    expect(zip.leadingBytes).toBe(100);
    expect(text(await zip.get('archive/version')!.read())).toBe('3\n');
  });

  it('appended bytes after the end record (a second file)', async () => {
    const suffix = enc.encode('\x80\x02cposix\nsystem\n.');
    const zip = await trick(buildZip(SAMPLE, { suffix }), 'TrailingData');
    expect(zip.trailingBytes).toBe(suffix.length);
    expect(zip.findings.find((f) => f.code === 'TrailingData')!.offset).toBe(buildZip(SAMPLE).length);
  });

  it('a comment is fine; a comment longer than the file is Truncated', async () => {
    const zip = await open(buildZip(SAMPLE, { comment: 'hello' }));
    expect(zip.comment).toBe('hello');
    const cut = await trick(buildZip(SAMPLE, { comment: 'hello', commentLength: 50 }), 'Truncated');
    expect(cut.comment).toBe('hello');
  });

  it('truncated archives: every cut is a coded error (Truncated when it starts like a zip)', async () => {
    const bytes = buildZip(SAMPLE);
    for (let n = 0; n < bytes.length; n++) {
      const code = await codeOf(open(bytes.subarray(0, n)));
      expect(['Truncated', 'NotZip']).toContain(code);
      if (n >= 4 && n < bytes.length - 22) expect(code).toBe('Truncated');
    }
    expect(await codeOf(open(enc.encode('just some text, no zip here')))).toBe('NotZip');
    expect(await codeOf(open(new Uint8Array(0)))).toBe('NotZip');
  });

  it('an entry whose data runs past the end of the source', async () => {
    const zip = await trick(buildZip([{ name: 'a', data: 'abc', compressedSize: 10_000, size: 10_000 }]), 'Truncated');
    expect(await codeOf(zip.entries[0]!.read())).toBe('Truncated');
  });

  it('an entry whose data runs into the central directory', async () => {
    await trick(buildZip([{ name: 'a', data: 'abc', compressedSize: 20, size: 20 }]), 'OverlappingEntries');
  });

  it('overlapping entries: a second central record pointing inside the first entry (overlap zip bomb, hidden member)', async () => {
    const inner = buildZipParts([{ name: 'hidden.pkl', data: 'hidden payload' }]);
    const hidden = concat(inner.parts.slice(0, 4) as Uint8Array[]); // local header, name, extra, data
    const outerProbe = buildZipParts([{ name: 'cover.txt', data: hidden }]);
    const bytes = buildZip([
      { name: 'cover.txt', data: hidden },
      { name: 'hidden.pkl', centralOnly: true, offset: outerProbe.dataOffsets[0]!, data: 'hidden payload' },
    ]);
    const zip = await trick(bytes, 'OverlappingEntries');
    expect(text(await zip.get('hidden.pkl')!.read())).toBe('hidden payload');
  });

  it('two central records for one local header', async () => {
    const bytes = buildZip([{ name: 'a', data: 'abc' }, { name: 'a', centralOnly: true, offset: 0, data: 'abc' }]);
    const zip = await open(bytes, { strict: false });
    expect(zip.findings.map((f) => f.code)).toEqual(expect.arrayContaining(['DuplicateName', 'OverlappingEntries']));
  });

  it('bytes between entries that no entry owns', async () => {
    await trick(buildZip([SAMPLE[0]!, { ...SAMPLE[1]!, gapBefore: enc.encode('hidden bytes') }]), 'UnreferencedData');
    await trick(buildZip(SAMPLE, { gapBeforeEnd: enc.encode('hidden') }), 'UnreferencedData');
  });

  it('data descriptors are accepted (their bytes are not a gap)', async () => {
    const zip = await open(buildZip([{ name: 'a', data: 'abc', descriptor: true }, { name: 'b', data: 'hello hello hello', method: 8, descriptor: true }]));
    expect(zip.findings).toEqual([]);
    expect(text(await zip.get('b')!.read())).toBe('hello hello hello');
  });

  it('local header disagrees with the central directory (method, sizes, CRC)', async () => {
    await trick(buildZip([{ name: 'a', data: 'abc', localMethod: 8 }]), 'HeaderMismatch');
    await trick(buildZip([{ name: 'a', data: 'abc', localSize: 5 }]), 'HeaderMismatch');
    await trick(buildZip([{ name: 'a', data: 'abc', localCrc: 5 }]), 'HeaderMismatch');
  });

  it('stored entries whose two sizes differ', async () => {
    const zip = await trick(buildZip([{ name: 'a', data: 'abcdef', size: 3 }]), 'SizeMismatch');
    expect(text(await zip.entries[0]!.read())).toBe('abc');
  });

  it('no local header where the central directory points', async () => {
    const bytes = buildZip(SAMPLE);
    bytes[0] = 0x51;
    const zip = await trick(bytes, 'BadLocalHeader');
    expect(await codeOf(zip.entries[0]!.read())).toBe('BadLocalHeader');
    expect(text(await zip.get('archive/version')!.read())).toBe('3\n');
  });

  it('deflate bomb: inflating past the declared size is SizeMismatch, in both modes', async () => {
    const compressed = new Uint8Array(zlib.deflateRawSync(new Uint8Array(20_000_000)));
    const bytes = buildZip([{ name: 'bomb', method: 8, compressed, size: 1000, data: 'x' }]);
    for (const strict of [true, false]) {
      const zip = await open(bytes, { strict });
      const e = zip.entries[0]!;
      expect(await codeOf(e.read())).toBe('SizeMismatch');
      expect(await codeOf(e.source())).toBe('SizeMismatch');
      expect(await codeOf(e.checkCrc())).toBe('SizeMismatch');
    }
  });

  it('deflate output shorter than declared, and invalid deflate data', async () => {
    const zip = await open(buildZip([{ name: 'short', method: 8, data: 'hello', size: 6 }, { name: 'bad', method: 8, compressed: Uint8Array.of(0xff, 0xff, 0xff), size: 3, data: 'x' }]));
    expect(await codeOf(zip.get('short')!.read())).toBe('SizeMismatch');
    expect(await codeOf(zip.get('bad')!.read())).toBe('BadDeflate');
  });

  it('an entry larger than the inflate limit is refused before anything is read', async () => {
    const zip = await open(buildZip([{ name: 'big', method: 8, data: 'hello' }]), { maxInflatedEntryBytes: 3 });
    expect(await codeOf(zip.entries[0]!.read())).toBe('EntryTooLarge');
    const stored = await open(buildZip([{ name: 'big', data: 'hello' }]), { maxInflatedEntryBytes: 3 });
    expect(await codeOf(stored.entries[0]!.read())).toBe('EntryTooLarge');
    expect((await stored.entries[0]!.source()).size).toBe(5);
    const declared = await open(buildZip([{ name: 'huge', method: 8, data: 'hello', size: MAX_INFLATED_ENTRY_BYTES + 1 }]), { strict: false });
    expect(await codeOf(declared.entries[0]!.read())).toBe('EntryTooLarge');
  });

  it('end record count differs from the central directory', async () => {
    const zip = await trick(buildZip(SAMPLE, { count: 5 }), 'CountMismatch');
    expect(zip.entries.length).toBe(3);
    const fewer = await trick(buildZip(SAMPLE, { count: 2 }), 'CountMismatch');
    expect(fewer.entries.length).toBe(3);
    await trick(buildZip(SAMPLE, { countOnDisk: 2 }), 'CountMismatch');
  });

  it('multi-disk archives are refused in both modes', async () => {
    for (const strict of [true, false]) {
      expect(await codeOf(open(buildZip(SAMPLE, { disk: 1 }), { strict }))).toBe('Multidisk');
      expect(await codeOf(open(buildZip(SAMPLE, { disk: 1, zip64: true }), { strict }))).toBe('Multidisk');
    }
    await trick(buildZip([{ name: 'a', data: 'x', diskStart: 2 }]), 'Multidisk');
  });

  it('a central directory that is not one', async () => {
    const bytes = buildZip(SAMPLE, { cdSize: 10 });
    expect(await codeOf(open(bytes, { strict: false }))).toBe('BadCentralDirectory');
    const past = buildZip(SAMPLE, { cdOffset: 100_000 });
    expect(await codeOf(open(past, { strict: false }))).toBe('BadCentralDirectory');
  });

  it('limits: too many entries, too large a central directory', async () => {
    expect(await codeOf(open(buildZip(SAMPLE, { zip64: true, count: MAX_ZIP_ENTRIES + 1 }), { strict: false }))).toBe('TooManyEntries');
    expect(await codeOf(open(buildZip(SAMPLE, { cdSize: 0xfffffff0 }), { strict: false }))).toBe('CentralDirectoryTooLarge');
  });

  it('long names', async () => {
    await trick(buildZip([{ name: 'a/'.repeat(2100) + 'x', data: 'x' }]), 'NameTooLong');
  });
});

describe('ZIP64', () => {
  it('crafted ZIP64 entries and end records read like classic ones', async () => {
    const zip = await open(buildZip(SAMPLE.map((e) => ({ ...e, zip64: true })), { zip64: true, comment: 'z' }));
    expect(zip.findings).toEqual([]);
    expect(zip.zip64).toBe(true);
    expect(text(await zip.get('archive/version')!.read())).toBe('3\n');
  });

  it('a locator that points at no ZIP64 record', async () => {
    const zip = await trick(buildZip(SAMPLE, { zip64: true, zip64RecordOffset: 3 }), 'Zip64Invalid');
    expect(text(await zip.get('archive/version')!.read())).toBe('3\n');
    const nowhere = buildZip(SAMPLE, { zip64: true, zip64RecordOffset: 3 });
    const record = nowhere.length - 22 - 20 - 56;
    expect([...nowhere.subarray(record, record + 4)]).toEqual([0x50, 0x4b, 0x06, 0x06]);
    nowhere.set([0, 0, 0, 0], record);
    expect(await codeOf(open(nowhere, { strict: false }))).toBe('Zip64Invalid');
  });

  it('a ZIP64 extra field too short for the sizes it must hold', async () => {
    const bytes = buildZip([{ name: 'a', data: 'abc', zip64: true, centralExtra: Uint8Array.of(1, 0, 8, 0, 3, 0, 0, 0, 0, 0, 0, 0) }]);
    await trick(bytes, 'Zip64Invalid');
  });

  it('classic and ZIP64 end records that disagree', async () => {
    const bytes = buildZip(SAMPLE, { zip64: true });
    // Replace the classic record's 0xFFFF total count by 2.
    const eocd = bytes.length - 22;
    bytes[eocd + 10] = 2;
    bytes[eocd + 11] = 0;
    await trick(bytes, 'Zip64Invalid');
  });

  it('archives larger than 4 GiB, served by a sparse source (nothing is allocated or written)', async () => {
    const big = 5 * 1024 ** 3 + 3;
    const built = buildZipParts(
      [
        { name: 'archive/data/0', data: { zeros: big }, zip64: true, align: 64, crc: 0x12345678 },
        { name: 'archive/data.pkl', data: 'pickle bytes', zip64: true, align: 64 },
      ],
      { zip64: true },
    );
    const marker = enc.encode('MARK');
    const source = new SparseSource(built.parts, 'virtual.pt', [{ offset: built.dataOffsets[0]! + 4.5 * 1024 ** 3, bytes: marker }]);
    expect(source.size).toBeGreaterThan(2 ** 32 + 1000);
    const zip = await openZip(source);
    expect(zip.findings).toEqual([]);
    const [storage, pkl] = zip.entries as [(typeof zip.entries)[0], (typeof zip.entries)[0]];
    expect(storage.size).toBe(big);
    expect(storage.compressedSize).toBe(big);
    expect(storage.dataOffset % 64).toBe(0);
    expect(pkl.localHeaderOffset).toBeGreaterThan(2 ** 32);
    expect(text(await pkl.read())).toBe('pickle bytes');
    expect(await pkl.checkCrc()).toBe(true);
    const window = await storage.source();
    expect(window.size).toBe(big);
    expect(text(await window.read(4.5 * 1024 ** 3, 4))).toBe('MARK');
    expect(await codeOf(storage.read())).toBe('EntryTooLarge');
    expect(source.maxRead).toBeLessThan(1024 * 1024);
  });
});

/** A source over parts where `{ zeros }` parts are virtual; reads are assembled on demand. */
class SparseSource implements ByteSource {
  readonly size: number;
  maxRead = 0;
  private readonly spans: { start: number; part: Part }[] = [];

  constructor(
    parts: Part[],
    readonly name: string,
    private readonly overlays: { offset: number; bytes: Uint8Array }[] = [],
  ) {
    let at = 0;
    for (const part of parts) {
      this.spans.push({ start: at, part });
      at += part instanceof Uint8Array ? part.length : part.zeros;
    }
    this.size = at;
  }

  async read(offset: number, length: number): Promise<Uint8Array> {
    if (offset < 0 || length < 0 || offset + length > this.size) throw new Error(`read outside the source: ${offset}+${length}`);
    this.maxRead = Math.max(this.maxRead, length);
    const out = new Uint8Array(length);
    for (const { start, part } of this.spans) {
      if (!(part instanceof Uint8Array)) continue;
      const from = Math.max(offset, start);
      const to = Math.min(offset + length, start + part.length);
      if (from < to) out.set(part.subarray(from - start, to - start), from - offset);
    }
    for (const o of this.overlays) {
      const from = Math.max(offset, o.offset);
      const to = Math.min(offset + length, o.offset + o.bytes.length);
      if (from < to) out.set(o.bytes.subarray(from - o.offset, to - o.offset), from - offset);
    }
    return out;
  }
}

describe('messages', () => {
  it('say what and where', async () => {
    try {
      await open(buildZip(SAMPLE, { suffix: enc.encode('xyz') }));
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(ZipError);
      const z = e as ZipError;
      expect(z.code).toBe('TrailingData');
      expect(z.message).toMatch(/^crafted\.zip: 3 bytes follow the end of the archive/);
      expect(z.offset).toBe(buildZip(SAMPLE).length);
      expect(z.location).toBe(`crafted.zip@${z.offset}`);
    }
  });
});


describe('third-party corpus (../shared/corpus, when present)', () => {
  const CORPUS = path.join(ROOT, '..', 'shared', 'corpus');
  const file = (p: string) => path.join(CORPUS, p);
  const present = fs.existsSync(file('pickle/picklescan/tests/data/malicious1_0x1.zip'));

  const cases: [string, ZipErrorCode | 'ok', string][] = [
    ['pickle/picklescan/tests/data/malicious1.zip', 'ok', 'data.pkl'],
    ['pickle/picklescan/tests/data/malicious1_0x1.zip', 'Encrypted', 'model/config.pkl'],
    ['pickle/picklescan/tests/data/malicious1_0x20.zip', 'OddFlags', 'model/config.pkl'],
    ['pickle/picklescan/tests/data/malicious1_0x40.zip', 'OddFlags', 'model/config.pkl'],
    ['pickle/picklescan/tests/data/malicious1_central_directory.zip', 'NameMismatch', 'data.pkl'],
    ['pickle/picklescan/tests/data2/malicious1_crc.zip', 'ok', ''],
    ['formats/keras/malicious/model.keras', 'DuplicateName', 'model.weights.npz'],
    ['pickle/picklescan/tests/data/benign_password_protected.zip', 'Encrypted', ''],
  ];

  for (const [name, code, member] of cases) {
    it.skipIf(!present)(`${name}: ${code}; non-strict still reads what torch would`, async () => {
      const bytes = new Uint8Array(fs.readFileSync(file(name)));
      expect(await codeOf(openZip(new MemorySource(bytes, name)))).toBe(code === 'ok' ? 'no error' : code);
      const zip = await openZip(new MemorySource(bytes, name), { strict: false });
      if (code !== 'ok') expect(zip.findings.map((f) => f.code)).toContain(code);
      if (member) {
        const data = await zip.get(member)!.read();
        expect(data.length).toBeGreaterThan(0);
        if (member.endsWith('.pkl')) expect(data[0]).toBe(0x80);
      }
    });
  }

  it.skipIf(!present)('malicious1_crc.zip: the CRC mismatch shows in checkCrc()', async () => {
    const zip = await openZip(new MemorySource(new Uint8Array(fs.readFileSync(file('pickle/picklescan/tests/data2/malicious1_crc.zip')))));
    expect(await zip.entries[0]!.checkCrc()).toBe(false);
  });
});
