import { describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { spawn } from 'node:child_process';
import { MemorySource, type ByteSource } from '../src/io/byte-source.js';
import { openZip } from '../src/formats/zip/index.js';
import { scanBytes, scanSource } from '../src/scan/scan.js';
import type { ScanReport } from '../src/formats/findings.js';
import { buildZip, buildZipParts, flatten } from './helpers/zip-writer.js';
import { npy } from './fixtures/scan/craft.js';
import { ROOT } from './helpers/paths.js';
import { tempDir } from './helpers/temp.js';

/**
 * Issue 9, the containers around pickles: every file is also a pickle from byte 0, every place torch
 * starts unpickling is analysed, an entry's problem does not stop the scan of an archive, and no limit
 * hides what CPython would reach. Payloads only ever `touch` a marker, and are never run.
 */

const rules = (r: ScanReport): string[] => [...new Set(r.findings.map((f) => f.rule))].sort();
const P = (...parts: (string | number[] | Uint8Array)[]): Uint8Array =>
  Uint8Array.from(parts.flatMap((p) => (typeof p === 'string' ? [...Buffer.from(p, 'latin1')] : [...p])));
const le64 = (n: number | bigint): number[] => [...new Uint8Array(new BigUint64Array([BigInt(n)]).buffer)];
/** Protocol 0: posix.system('touch /tmp/tensorsafe-marker'). */
const EVIL0 = "cposix\nsystem\n(S'touch /tmp/tensorsafe-marker'\ntR.";
/** Protocol 2, binary opcodes only (no newline): the same call through STACK_GLOBAL. */
const EVIL_BIN = P('\x8c\x05posix\x8c\x06system\x93\x8c\x1btouch /tmp/tensorsafe-marker\x85R.');
const EVIL = P([0x80, 2], EVIL_BIN);
const BENIGN = P([0x80, 2], ']q\x00(K\x01K\x02e.');
const dangerous = (r: ScanReport): void => {
  expect(r.verdict).toBe('dangerous');
  expect(rules(r)).toContain('pickle/dangerous-global');
};

/** A tar header (512 bytes) with a valid checksum; `ustar` magic unless told otherwise. */
function tarHeader(name: string | Uint8Array, size: number, options: { ustar?: boolean } = {}): Uint8Array {
  const h = new Uint8Array(512);
  h.set(typeof name === 'string' ? Buffer.from(name, 'latin1') : name, 0);
  h.set(Buffer.from('0000644\0'), 100);
  h.set(Buffer.from('0000000\0'), 108);
  h.set(Buffer.from('0000000\0'), 116);
  h.set(Buffer.from(size.toString(8).padStart(11, '0') + '\0'), 124);
  h.set(Buffer.from('00000000000\0'), 136);
  h[156] = 0x30; // regular file
  if (options.ustar ?? true) h.set(Buffer.from('ustar\x0000'), 257);
  h.fill(0x20, 148, 156);
  const sum = h.reduce((a, b) => a + b, 0);
  h.set(Buffer.from(sum.toString(8).padStart(6, '0') + '\0 '), 148);
  return h;
}
function tar(members: [string | Uint8Array, Uint8Array][], options: { ustar?: boolean } = {}): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const [name, data] of members) {
    parts.push(tarHeader(name, data.length, options), data, new Uint8Array((512 - (data.length % 512)) % 512));
  }
  parts.push(new Uint8Array(1024));
  return Buffer.concat(parts);
}

describe('polyglots: every file is also read as a pickle from byte 0', () => {
  it('a valid safetensors file whose length field starts with PROTO and BINFLOAT, with printable opcodes in a tensor name', async () => {
    // Bytes 0-7, the header length: PROTO 2, BINFLOAT (which swallows the rest of the length field and
    // `{"x`), then a chain of printable SHORT_BINSTRINGs (`U~`, 126 bytes each) through the tensor name,
    // the JSON around it and a metadata string, landing on a binary payload in the tensor data.
    const lengthField = [0x80, 0x02, 0x47, 0, 0, 0, 0, 0];
    const n = Number(new DataView(Uint8Array.from(lengthField).buffer).getBigUint64(0, true));
    const headerEnd = 8 + n;
    const step = 128;
    const landing = 11 + step * Math.ceil((headerEnd - 11) / step);
    const dataLength = landing - headerEnd + EVIL_BIN.length;
    for (let nameLength = 300; ; nameLength++) {
      const before = '{"';
      const middle = `":{"dtype":"U8","shape":[${dataLength}],"data_offsets":[0,${dataLength}]},"__metadata__":{"pad":"`;
      const after = '"}}';
      const padLength = n - before.length - nameLength - middle.length - after.length;
      const nameStart = 8 + before.length;
      const padStart = nameStart + nameLength + middle.length;
      const inString = (at: number): boolean => (at >= nameStart + 1 && at + 2 <= nameStart + nameLength) || (at >= padStart && at + 2 <= padStart + padLength);
      const spots: number[] = [];
      for (let at = 11; at < headerEnd; at += step) spots.push(at);
      if (!spots.every(inString)) continue;
      const file = new Uint8Array(headerEnd + dataLength);
      file.set(lengthField, 0);
      file.set(Buffer.from(before + 'a'.repeat(nameLength) + middle + 'a'.repeat(padLength) + after), 8);
      for (const at of spots) file.set(Buffer.from('U~'), at);
      file.set(EVIL_BIN, landing);
      const r = await scanBytes(file, 'model.safetensors');
      expect(r.format).toBe('safetensors');
      expect(rules(r)).toContain('safetensors/valid');
      dangerous(r);
      const polyglot = r.findings.find((f) => f.rule === 'pickle/polyglot')!;
      expect(polyglot.severity).toBe('dangerous');
      expect(polyglot.message).toMatch(/^a file read as safetensors \(\.safetensors\) that is also a pickle/);
      return;
    }
  });

  it("a protocol-0 pickle in the first tar header's name field", async () => {
    const r = await scanBytes(tar([[EVIL0, P('hello')]]), 'model.tar');
    expect(r.format).toBe('tar');
    dangerous(r);
    expect(r.findings.find((f) => f.rule === 'pickle/polyglot')!.message).toMatch(/^a tar archive that is also a pickle/);
  });

  it('a TFLite file that is a pickle from byte 0 (PROTO, then a SHORT_BINSTRING over the identifier)', async () => {
    const r = await scanBytes(P([0x80, 0x02, 0x55, 0x04], 'TFL3', '0', EVIL_BIN, new Uint8Array(64)), 'model.tflite');
    expect(r.format).toBe('tflite');
    dangerous(r);
    expect(r.findings.find((f) => f.rule === 'pickle/polyglot')!.message).toMatch(/^a file read as TFLite \(\.tflite\) that is also a pickle/);
  });

  it('a GGUF file that is a pickle from byte 0 (BINFLOAT over the magic and version)', async () => {
    const r = await scanBytes(P('GGUF', [3, 0, 0, 0], 'x0', EVIL0, new Uint8Array(64)), 'model.gguf');
    expect(r.format).toBe('gguf');
    dangerous(r);
  });

  it('a zip archive that is a pickle from byte 0 (PERSID over the local header, the payload in the first name)', async () => {
    const zip = buildZip([{ name: `a\n${EVIL0}`, data: new Uint8Array(0) }, { name: 'weights.bin', data: 'x' }]);
    const r = await scanBytes(zip, 'model.zip');
    dangerous(r);
    expect(r.findings.some((f) => f.rule === 'pickle/polyglot')).toBe(true);
  });

  it('a Flax msgpack checkpoint whose top-level map starts with an EXT opcode (0x82-0x84) is not reported as a pickle', async () => {
    // {"params": {"w": ndarray ext}, "step": 7}: 0x82 is EXT1 to pickle, whose unregistered code raises before any import.
    const array = Uint8Array.of(0x93, 0x91, 0x01, 0xa7, ...Buffer.from('float32'), 0xc4, 0x04, 0, 0, 0x80, 0x3f);
    const body = P([0x82, 0xa6], 'params', [0x81, 0xa1], 'w', [0xc7, array.length, 0x01], array, [0xa4], 'step', [0x07]);
    const r = await scanBytes(body, 'checkpoint.msgpack');
    expect(r.format).toBe('flax');
    expect([r.verdict, rules(r)]).toEqual(['safe', ['flax/valid']]);
  });

  it('an npy file that no pickle reader runs is not reported as a pickle', async () => {
    const r = await scanBytes(npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", new Uint8Array(8)), 'a.npy');
    expect([r.verdict, rules(r)]).toEqual(['safe', ['npy/valid']]);
  });
});

describe('every place torch starts unpickling', () => {
  const MAGIC = P([0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19], '.');
  const PROTOCOL = P([0x80, 0x02], 'M\xe9\x03.');
  const SYS_INFO = P([0x80, 0x02], '}q\x00.');
  const OBJECT = P([0x80, 0x02], '}q\x00.');
  const KEYS = P([0x80, 0x02], ']q\x00.');
  /** A pickle that starts with SHORT_BINUNICODE (dropped by POP) and then runs the payload. */
  const UNICODE_FIRST = P('\x8c\x01a0', EVIL0);
  for (const [i, what] of ['protocol version', 'sys_info', 'object', 'storage keys'].entries()) {
    it(`legacy format: the ${what} pickle starting with SHORT_BINUNICODE`, async () => {
      const pickles = [PROTOCOL, SYS_INFO, OBJECT, KEYS];
      pickles[i] = UNICODE_FIRST;
      const r = await scanBytes(P(MAGIC, ...pickles), 'legacy.pt');
      expect(r.format).toBe('pytorch-legacy');
      dangerous(r);
    });
  }

  for (const member of ['sys_info', 'pickle', 'storages', 'tensors']) {
    it(`old tar format: a payload at the start of the ${member} member`, async () => {
      const members: [string, Uint8Array][] = [
        ['sys_info', SYS_INFO],
        ['pickle', OBJECT],
        ['storages', P([0x80, 0x02], 'K\x00.')],
        ['tensors', P([0x80, 0x02], 'K\x00.')],
      ];
      const m = members.find(([name]) => name === member)!;
      m[1] = EVIL;
      const r = await scanBytes(tar(members), 'old.tar');
      expect(r.format).toBe('pytorch-tar');
      dangerous(r);
      expect(r.findings.find((f) => f.rule === 'pickle/dangerous-global')!.location).toMatch(new RegExp(`^old\\.tar:${member}@`));
    });
  }

  it('a tar without the ustar magic (tarfile.open reads it by its checksum) is read as tar', async () => {
    const r = await scanBytes(tar([['sys_info', SYS_INFO], ['pickle', EVIL], ['storages', P([0x80, 0x02], 'K\x00.')], ['tensors', P([0x80, 0x02], 'K\x00.')]], { ustar: false }), 'v7.tar');
    expect(r.format).toBe('pytorch-tar');
    dangerous(r);
  });

  it('a zip holding both data.pkl and data/data.pkl: both are analysed', async () => {
    for (const order of [
      [{ name: 'data.pkl', data: BENIGN }, { name: 'data/data.pkl', data: EVIL }],
      [{ name: 'data/data.pkl', data: BENIGN }, { name: 'data.pkl', data: EVIL }],
      [{ name: 'data/data.pkl', data: EVIL }, { name: 'data.pkl', data: BENIGN }],
    ]) {
      const r = await scanBytes(buildZip(order), 'two.pt');
      dangerous(r);
    }
  });
});

/** A source that counts the bytes read from each range, to see how often an entry is read. */
class CountingSource implements ByteSource {
  readonly reads: [number, number][] = [];
  constructor(private readonly inner: MemorySource) {}
  get size(): number {
    return this.inner.size;
  }
  get name(): string {
    return this.inner.name;
  }
  read(offset: number, length: number): Promise<Uint8Array> {
    this.reads.push([offset, length]);
    return this.inner.read(offset, length);
  }
}

describe('zip robustness: an entry is a finding, the archive is still scanned', () => {
  const bomb = zlib.deflateRawSync(new Uint8Array(64 << 10));
  it('an entry declared 10 bytes that inflates to 64 KiB, before a malicious data.pkl', async () => {
    const zip = buildZip([
      { name: 'archive/extra.bin', method: 8, compressed: bomb, size: 10, compressedSize: bomb.length },
      { name: 'archive/data.pkl', data: EVIL },
    ]);
    const r = await scanBytes(zip, 'bomb.pt');
    dangerous(r);
    expect(r.findings.find((f) => f.rule === 'zip/unreadable-entry')!.location).toBe('bomb.pt:archive/extra.bin');
  });

  it('an entry that lies about being 1 GiB (named like a pickle), before a malicious data.pkl', async () => {
    const zip = buildZip([
      { name: 'archive/extra.pkl', method: 8, compressed: bomb, size: (1 << 30) + 1, compressedSize: bomb.length },
      { name: 'archive/data.pkl', data: EVIL },
    ]);
    const r = await scanBytes(zip, 'liar.pt');
    dangerous(r);
  });

  it('an entry compressed with a method the reader does not decode is suspicious, and the rest is scanned', async () => {
    const zip = buildZip([
      { name: 'archive/extra.pkl', method: 99, compressed: P('garbage'), size: 100, compressedSize: 7 },
      { name: 'archive/data.pkl', data: EVIL },
    ]);
    const r = await scanBytes(zip, 'method.pt');
    dangerous(r);
    expect(r.findings.some((f) => f.rule === 'zip/unreadable-entry' && f.location === 'method.pt:archive/extra.pkl')).toBe(true);
  });

  it('one deflated entry listed eight times in the central directory is inflated once', async () => {
    const data = P(EVIL, new Uint8Array(4096));
    const compressed = zlib.deflateRawSync(data);
    const built = buildZipParts([
      { name: 'model.pkl', data, method: 8 },
      ...Array.from({ length: 7 }, () => ({ name: 'model.pkl', centralOnly: true, offset: 0, method: 8, size: data.length, compressedSize: compressed.length, crc: zlib.crc32(data) })),
    ]);
    const source = new CountingSource(new MemorySource(flatten(built.parts), 'eight.zip'));
    const r = await scanSource(source);
    dangerous(r);
    const dataOffset = built.dataOffsets[0]!;
    // Inflating reads the compressed bytes from the entry's data offset; nothing else starts there.
    expect(source.reads.filter(([offset]) => offset === dataOffset)).toHaveLength(1);
  });
});

describe('zip: entries read as pickles whatever their name', () => {
  it('a protocol-0 pickle (no signature) in an entry not named like a pickle', async () => {
    for (const method of [0, 8]) {
      const r = await scanBytes(buildZip([{ name: 'model/weights.bin', data: EVIL0, method }]), 'p0.zip');
      dangerous(r);
    }
  });

  it('text entries of an ordinary archive are not pickles', async () => {
    const r = await scanBytes(buildZip([{ name: 'README.md', data: '# A model\n\nimport os\nclass X: pass\n' }, { name: 'version', data: '3\n' }, { name: 'byteorder', data: 'little' }]), 'text.zip');
    expect(r.verdict).toBe('safe');
  });
});

describe('zip: listings of one entry that read it differently', () => {
  it('two central records of one local entry, the second longer: the bytes each gives are analysed', async () => {
    const data = P(BENIGN, EVIL);
    const built = buildZipParts([
      { name: 'archive/data.pkl', data, size: BENIGN.length, compressedSize: BENIGN.length, crc: zlib.crc32(BENIGN) },
      { name: 'archive/data.pkl', centralOnly: true, offset: 0, size: data.length, compressedSize: data.length, crc: zlib.crc32(data) },
    ]);
    const r = await scanBytes(flatten(built.parts), 'two-views.pt');
    expect(r.verdict).toBe('dangerous');
  });
});

describe('limits that stop reading: what CPython would reach is still analysed', () => {
  it('a pickle whose BINBYTES runs past the bytes analysed (MAX_SCANNED_PICKLE_BYTES) is not called safe', async () => {
    // 'B' + a 300 MB length, then the payload: generated on read, never held whole.
    const length = 300_000_000;
    const head = P('B', [...new Uint8Array(new Uint32Array([length]).buffer)]);
    const size = head.length + length + EVIL_BIN.length;
    const tail = head.length + length;
    const source: ByteSource = {
      name: 'huge.pkl',
      size,
      read: async (offset, n) => {
        const out = new Uint8Array(n);
        for (let i = 0; i < head.length; i++) if (i >= offset && i < offset + n) out[i - offset] = head[i]!;
        for (let i = 0; i < EVIL_BIN.length; i++) if (tail + i >= offset && tail + i < offset + n) out[tail + i - offset] = EVIL_BIN[i]!;
        return out;
      },
    };
    const r = await scanSource(source);
    expect(r.verdict).not.toBe('safe');
    expect(rules(r)).toContain('pickle/too-large');
  });

  it('the payload in the 71st stacked pickle', async () => {
    const r = await scanBytes(P(...Array.from({ length: 70 }, () => BENIGN), EVIL), 'stacked.pkl');
    dangerous(r);
  });

  it('a FRAME that runs past the end of the stream: the pure-Python unpickler runs what is there', async () => {
    const r = await scanBytes(P([0x80, 0x04, 0x95], le64(1000), EVIL_BIN), 'frame.pkl');
    dangerous(r);
    expect(rules(r)).toContain('pickle/frame-past-end');
  });

  const objectDescrs = ["'object'", "'|O'", "'O'", "'i4,O'", "'(2,)f8, object'", "[('a', '<i4'), ('b', 'O')]", "[('a', '<i4'), ('b', [('c', 'O')])]"];
  for (const descr of objectDescrs) {
    it(`an npy whose descr is ${descr} holds a pickle np.load(allow_pickle=True) runs`, async () => {
      const r = await scanBytes(npy(`{'descr': ${descr}, 'fortran_order': False, 'shape': (1,), }`, EVIL), 'obj.npy');
      expect(r.format).toBe('npy');
      dangerous(r);
    });
  }

  it('an npy with a descr this reader does not know still has its data analysed as a pickle', async () => {
    const r = await scanBytes(npy("{'descr': 'not-a-dtype', 'fortran_order': False, 'shape': (1,), }", EVIL), 'odd.npy');
    dangerous(r);
  });

  // An object array ('|O', the payload as its pickle) compressed by Python's zipfile (zipfile.ZIP_LZMA
  // and ZIP_BZIP2): np.load of the .npz reads such members. Only compressed here, never loaded.
  const objectNpy = npy("{'descr': '|O', 'fortran_order': False, 'shape': (1,), }", EVIL);
  const compressedMembers: [string, number, number, string][] = [
    ['LZMA', 14, 2, 'CQQFAF0AAIAAAEmThqTe04J5alsNIzg2q52dTE3u423DMWEdGqUP15wK9ZN7M0v9nbitAHKnlW2pTxeDR1R14Cd4fkzQjDGIIJD2W8DEAU0BRINjw4urTFyuCmEXxREtqXK0NqR8Oo9b1LFB1JXNNVIglMGKgDYIpxjb/dx1b3KI/5cSoAA='],
    ['bzip2', 12, 0, 'QlpoOTFBWSZTWXNxd1EAADz/4HMQAAhA56AwAQPSIK9v325CBAgAIABqIqfpBqYmjIwjCM00jAmmxqhU0xNAAAAAABo0B0oUwJBXCEYTAlozVOiRU6AOSuT0ms1PQJ+AoJiCTftvk/EY5BtOC5ODrsPRTFAoPhOUQTJLLpMl2WUIcgQCXCdkb5bdFgp8/5jpn0LOsklP/F3JFOFCQc3F3UQ='],
  ];
  for (const [name, method, flags, base64] of compressedMembers) {
    it(`an ${name}-compressed npz member (zip method ${method}) is decoded and its object array analysed`, async () => {
      const compressed = new Uint8Array(Buffer.from(base64, 'base64'));
      const zip = buildZip([
        { name: 'arr_0.npy', method, flags, compressed, size: objectNpy.length, compressedSize: compressed.length, crc: zlib.crc32(objectNpy) },
        { name: 'arr_1.npy', data: npy("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }", new Uint8Array(4)) },
      ]);
      const r = await scanBytes(zip, 'arrays.npz');
      expect(r.format).toBe('npz');
      dangerous(r);
      expect(r.findings.find((f) => f.rule === 'pickle/dangerous-global')!.location).toMatch(/^arrays\.npz:arr_0\.npy@/);
    });
  }

  it('the bzip2 and LZMA decoders keep to the declared size, and fail with a coded error on damaged data', async () => {
    for (const [, method, flags, base64] of compressedMembers) {
      const compressed = new Uint8Array(Buffer.from(base64, 'base64'));
      const entry = async (bytes: Uint8Array, size: number) => (await openZip(new MemorySource(buildZip([{ name: 'a', method, flags, compressed: bytes, size, compressedSize: bytes.length }]), 'z'), { strict: false })).entries[0]!;
      expect(Buffer.from(await (await entry(compressed, objectNpy.length)).read()).equals(Buffer.from(objectNpy))).toBe(true);
      // Python's zipfile keeps the declared size: a shorter one cuts, a longer one is an error.
      expect(Buffer.from(await (await entry(compressed, 20)).read()).equals(Buffer.from(objectNpy.subarray(0, 20)))).toBe(true);
      await expect((await entry(compressed, objectNpy.length + 10)).read()).rejects.toMatchObject({ code: 'SizeMismatch' });
      let seed = 7;
      const random = (): number => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
      for (let i = 0; i < 300; i++) {
        const mutated = compressed.slice(0, 1 + Math.floor(random() * compressed.length));
        for (let k = 0; k < 3; k++) mutated[Math.floor(random() * mutated.length)] = Math.floor(random() * 256);
        const read = (await entry(mutated, objectNpy.length)).read();
        await read.then(
          (bytes) => expect(bytes.length).toBe(objectNpy.length),
          (e: unknown) => expect(e).toMatchObject({ code: expect.stringMatching(/^(BadDeflate|SizeMismatch)$/) }),
        );
      }
    }
  });

  it('a plain npy with a comma-separated descr is plain data', async () => {
    const r = await scanBytes(npy("{'descr': 'i4,f8', 'fortran_order': False, 'shape': (2,), }", new Uint8Array(24)), 'rec.npy');
    expect([r.verdict, rules(r)]).toEqual(['safe', ['npy/valid']]);
  });

  const lambdaConfig = JSON.stringify({
    module: 'keras',
    class_name: 'Sequential',
    config: { name: 'seq', layers: [{ module: 'keras.layers', class_name: 'Lambda', config: { name: 'evil', function: { class_name: '__lambda__', config: { code: 'AAAA', defaults: null, closure: null } } }, registered_name: null }] },
    registered_name: null,
  });
  const utf32 = (text: string, littleEndian: boolean, bom: boolean): Uint8Array => {
    const cps = [...(bom ? '\ufeff' : ''), ...text].map((c) => c.codePointAt(0)!);
    const out = new Uint8Array(cps.length * 4);
    cps.forEach((cp, i) => new DataView(out.buffer).setUint32(i * 4, cp, littleEndian));
    return out;
  };
  const encodings: [string, Uint8Array][] = [
    ['UTF-16LE with a BOM', P([0xff, 0xfe], Buffer.from(lambdaConfig, 'utf16le'))],
    ['UTF-16LE without a BOM', Buffer.from(lambdaConfig, 'utf16le')],
    ['UTF-16BE with a BOM', P([0xfe, 0xff], Buffer.from(lambdaConfig, 'utf16le').swap16())],
    ['UTF-16BE without a BOM', Buffer.from(lambdaConfig, 'utf16le').swap16()],
    ['UTF-32LE with a BOM', utf32(lambdaConfig, true, true)],
    ['UTF-32BE without a BOM', utf32(lambdaConfig, false, false)],
    ['UTF-8 with a BOM', P([0xef, 0xbb, 0xbf], Buffer.from(lambdaConfig))],
  ];
  for (const [name, bytes] of encodings) {
    it(`a Keras config.json encoded as ${name} (json.loads reads it)`, async () => {
      const zip = buildZip([
        { name: 'metadata.json', data: '{"keras_version": "3.5.0"}' },
        { name: 'config.json', data: bytes },
        { name: 'model.weights.h5', data: 'x' },
      ]);
      const r = await scanBytes(zip, 'model.keras');
      expect(r.verdict).toBe('dangerous');
      expect(rules(r)).toContain('keras/lambda-layer');
    });
  }
});

describe('a busy scan stays interruptible', () => {
  it('SIGTERM during a long analysis: the CLI ends at once (killed by the signal: 143 in a shell), without waiting for the analysis', async () => {
    const dir = tempDir('scan-interrupt');
    // A 1 MB nested pickle (500,000 NONE POP) memoized, then handed to pickle.loads 2,000 times: each
    // call has it analysed again, minutes of synchronous work on the analysing thread.
    const k = 500_000;
    const inner = new Uint8Array(4 + 2 * k);
    inner.set([0x80, 0x02]);
    for (let i = 0; i < k; i++) inner.set([0x4e, 0x30], 2 + 2 * i);
    inner.set([0x4e, 0x2e], 2 + 2 * k);
    const length = new Uint8Array(new Uint32Array([inner.length]).buffer);
    const calls = Array.from({ length: 2000 }, () => P('h\x01h\x00\x85R0'));
    const slow = path.join(dir, 'slow.pkl');
    fs.writeFileSync(slow, P([0x80, 0x02, 0x42], length, inner, 'q\x00cpickle\nloads\nq\x01', ...calls, 'N.'));
    const first = path.join(dir, 'first.pkl');
    fs.writeFileSync(first, BENIGN);
    const cli = spawn(process.execPath, [path.join(ROOT, 'bin/tensorsafe.js'), 'scan', '--json', first, slow], { cwd: ROOT, stdio: 'pipe' });
    try {
      const exit = new Promise<{ code: number | null; signal: string | null }>((resolve) => cli.once('exit', (code, signal) => resolve({ code, signal })));
      let out = '';
      // The first file's report is printed: the handlers are installed and the slow file is being scanned.
      await new Promise<void>((resolve, reject) => {
        cli.stdout.on('data', (d: Buffer) => {
          out += d.toString();
          if (out.includes('first.pkl')) resolve();
        });
        cli.once('exit', (code) => reject(new Error(`the scan ended before it was interrupted (${code}): ${out}`)));
      });
      // Past the few milliseconds of opening and reading the slow file: its analysis has begun.
      await new Promise((resolve) => setTimeout(resolve, 1000));
      cli.kill('SIGTERM');
      // Within a few seconds (the analysis alone takes minutes); the child is killed in any case.
      const ended = await Promise.race([exit, new Promise((resolve) => setTimeout(() => resolve('still running'), 10_000))]);
      // The default action: the process is ended by the signal itself (a shell reports 128 + 15 = 143).
      expect(ended).toEqual({ code: null, signal: 'SIGTERM' });
      expect(out).not.toContain('slow.pkl');
    } finally {
      cli.kill('SIGKILL');
    }
  }, 30_000);
});
