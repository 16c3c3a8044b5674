import { describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import { convertModel } from '../src/node/convert.js';
import { FileSource } from '../src/node/file-source.js';
import { readGgufHeader } from '../src/formats/gguf/header.js';
import { scanFile } from '../src/node/scan-file.js';
import { smallGguf } from './helpers/gguf.js';
import { tempDir } from './helpers/temp.js';

/**
 * Hostile GGUF metadata and sidecars (the attack round of issue 11): keys that are the names of
 * Object.prototype's members are keys like any other, in both directions; a sidecar beside a source
 * that is not a regular file (a FIFO, a link to a device) is refused at once, never waited on or
 * read without end.
 */

const tmp = tempDir('gguf-hostile-metadata');

/** A safetensors file of one F32 tensor `t` and the given metadata. */
function smallSafetensors(metadata: [string, string][]): Buffer {
  // From entries: an object literal's `__proto__: '5'` would be no key at all.
  const meta = `{${metadata.map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`).join(',')}}`;
  let header = Buffer.from(`{"__metadata__":${meta},"t":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`);
  header = Buffer.concat([header, Buffer.alloc((8 - (header.length % 8)) % 8, 0x20)]);
  const n = Buffer.alloc(8);
  n.writeBigUInt64LE(BigInt(header.length));
  return Buffer.concat([n, header, Buffer.from(new Float32Array([1.5]).buffer)]);
}

function safetensorsMetadata(file: string): Record<string, string> {
  const b = fs.readFileSync(file);
  const n = Number(b.readBigUInt64LE(0));
  return JSON.parse(b.subarray(8, 8 + n).toString('utf8')).__metadata__;
}

describe('GGUF metadata keys named like Object.prototype members', () => {
  it('GGUF → safetensors keeps `__proto__` and `constructor`, typed in gguf.types', async () => {
    const dir = fs.mkdtempSync(path.join(tmp, 'proto-'));
    const src = path.join(dir, 'm.gguf');
    fs.writeFileSync(src, smallGguf([['general.architecture', 'llama'], ['__proto__', 'p'], ['constructor', 'c'], ['toString', 's']]));
    await convertModel(src);
    const metadata = safetensorsMetadata(path.join(dir, 'm.safetensors'));
    expect(Object.hasOwn(metadata, '__proto__')).toBe(true);
    expect(metadata['__proto__']).toBe('p');
    expect(metadata.constructor).toBe('c');
    expect(metadata.toString).toBe('s');
    const types = JSON.parse(metadata['gguf.types']!);
    expect(Object.hasOwn(types, '__proto__')).toBe(true);
    expect(types.constructor).toBe('STRING');
  });

  it('safetensors → GGUF keeps `__proto__` and `constructor` with the types gguf.types gives them', async () => {
    const dir = fs.mkdtempSync(path.join(tmp, 'proto-out-'));
    const src = path.join(dir, 'm.safetensors');
    fs.writeFileSync(src, smallSafetensors([['general.architecture', 'llama'], ['__proto__', '5'], ['constructor', '-7'], ['toString', 'x'], ['gguf.types', '{"__proto__":"UINT32","constructor":"INT8"}']]));
    await convertModel(src, { to: 'gguf' });
    const source = await FileSource.open(path.join(dir, 'm.gguf'));
    try {
      const header = await readGgufHeader(source);
      const kv = new Map(header.metadata.map((e) => [e.key, e]));
      expect(kv.get('__proto__')).toMatchObject({ type: 'UINT32', value: 5 });
      expect(kv.get('constructor')).toMatchObject({ type: 'INT8', value: -7 });
      expect(kv.get('toString')).toMatchObject({ type: 'STRING', value: 'x' });
    } finally {
      await source.close();
    }
  });
});

describe('keys holding a NUL byte (llama.cpp looks keys up as C strings)', () => {
  // libggml accepts this file, and gguf_find_key("tokenizer.chat_template") returns the first key: the hostile template.
  const escape = "{{ self.__init__.__globals__.__builtins__.__import__('os').system('id') }}";

  it('a chat template under `tokenizer.chat_template\\0` placed first is checked as the chat template, and the key is reported', async () => {
    const dir = fs.mkdtempSync(path.join(tmp, 'nul-key-'));
    const file = path.join(dir, 'm.gguf');
    fs.writeFileSync(file, smallGguf([['general.architecture', 'llama'], ['tokenizer.chat_template\0', escape], ['tokenizer.chat_template', '{{ messages }}']]));
    const report = await scanFile(file);
    expect(report.verdict).not.toBe('safe');
    const rules = report.findings.map((f) => f.rule);
    expect(rules).toContain('gguf/chat-template-suspicious');
    expect(rules).toContain('gguf/nul-in-name');
  });

  it('a tensor name holding a NUL byte is reported', async () => {
    const dir = fs.mkdtempSync(path.join(tmp, 'nul-name-'));
    const file = path.join(dir, 'm.gguf');
    fs.writeFileSync(file, smallGguf([['general.architecture', 'llama']], 't\0x'));
    const report = await scanFile(file);
    expect(report.findings.find((f) => f.rule === 'gguf/nul-in-name')?.message).toMatch(/tensor name "t\\u0000x".*"t"/);
  });
});

describe('metadata the GGUF writer would write and a GGUF reader refuses: refused before writing', () => {
  const dirWith = (name: string, metadata: [string, string][]): { dir: string; src: string } => {
    const dir = fs.mkdtempSync(path.join(tmp, `${name}-`));
    const src = path.join(dir, 'm.safetensors');
    fs.writeFileSync(src, smallSafetensors(metadata));
    return { dir, src };
  };

  it('an empty key, a key past MAX_GGUF_KEY_BYTES', async () => {
    for (const [name, key] of [['empty', ''], ['long', 'k'.repeat(65_536)]] as const) {
      const { dir, src } = dirWith(name, [['general.architecture', 'llama'], [key, 'v']]);
      await expect(convertModel(src, { to: 'gguf' })).rejects.toMatchObject({ code: 'InvalidGgufMetadata' });
      expect(fs.readdirSync(dir)).toEqual(['m.safetensors']);
    }
  });

  it('a sidecar array past MAX_GGUF_ARRAY_LENGTH', async () => {
    const { dir, src } = dirWith('array', [['general.architecture', 'llama']]);
    const n = 4_194_305;
    fs.writeFileSync(path.join(dir, 'm.gguf-metadata.json'), `{"format":"tensorsafe-gguf-metadata","version":1,"keys":{"x":{"type":"ARRAY[UINT8]","value":[${'0,'.repeat(n - 1)}0]}}}`);
    await expect(convertModel(src, { to: 'gguf' })).rejects.toMatchObject({ code: 'InvalidGgufMetadata', message: expect.stringContaining('MAX_GGUF_ARRAY_LENGTH') });
    expect(fs.readdirSync(dir).sort()).toEqual(['m.gguf-metadata.json', 'm.safetensors']);
  }, 30_000);
});

describe('a source that is not a regular file', () => {
  it.skipIf(process.platform === 'win32')('a FIFO named as the model is refused at once with NotAFile (its open never waits for a writer)', async () => {
    const dir = fs.mkdtempSync(path.join(tmp, 'fifo-source-'));
    const fifo = path.join(dir, 'm.gguf');
    execFileSync('mkfifo', [fifo]);
    await expect(convertModel(fifo)).rejects.toMatchObject({ code: 'NotAFile' });
    await expect(FileSource.open(fifo)).rejects.toMatchObject({ code: 'NotAFile' });
    expect(() => FileSource.openSync(fifo)).toThrow(expect.objectContaining({ code: 'NotAFile' }));
    expect(fs.readdirSync(dir)).toEqual(['m.gguf']);
  }, 10_000);
});

describe('a GGUF metadata sidecar that is not a regular file', () => {
  const source = (name: string): { dir: string; src: string; sidecar: string } => {
    const dir = fs.mkdtempSync(path.join(tmp, `${name}-`));
    const src = path.join(dir, 'm.safetensors');
    fs.writeFileSync(src, smallSafetensors([['general.architecture', 'llama']]));
    return { dir, src, sidecar: path.join(dir, 'm.gguf-metadata.json') };
  };

  it.skipIf(process.platform === 'win32')('a FIFO is refused at once (never waited on), nothing written', async () => {
    const { dir, src, sidecar } = source('fifo');
    execFileSync('mkfifo', [sidecar]);
    await expect(convertModel(src, { to: 'gguf' })).rejects.toMatchObject({ code: 'InvalidGgufMetadata', message: expect.stringContaining('not a regular file') });
    expect(fs.readdirSync(dir).sort()).toEqual(['m.gguf-metadata.json', 'm.safetensors']);
  }, 10_000);

  it.skipIf(process.platform === 'win32')('a link to /dev/zero (size 0, no end) is refused, not read', async () => {
    const { dir, src, sidecar } = source('zero');
    fs.symlinkSync('/dev/zero', sidecar);
    await expect(convertModel(src, { to: 'gguf' })).rejects.toMatchObject({ code: 'InvalidGgufMetadata' });
    expect(fs.readdirSync(dir).sort()).toEqual(['m.gguf-metadata.json', 'm.safetensors']);
  }, 10_000);

  it('a folder is refused', async () => {
    const { src, sidecar } = source('folder');
    fs.mkdirSync(sidecar);
    await expect(convertModel(src, { to: 'gguf' })).rejects.toMatchObject({ code: 'InvalidGgufMetadata' });
  });

  it('a link to a regular file is read like one', async () => {
    const { dir, src, sidecar } = source('link');
    const real = path.join(dir, 'real.json');
    fs.writeFileSync(real, '{"format":"tensorsafe-gguf-metadata","version":1,"keys":{"tokenizer.ggml.tokens":{"type":"ARRAY[STRING]","value":["a","b"]}}}');
    fs.symlinkSync(real, sidecar);
    const summary = await convertModel(src, { to: 'gguf' });
    expect(summary.notes).toEqual(expect.arrayContaining([expect.stringContaining('1 GGUF metadata keys restored')]));
  });
});

describe("the GGUF writer's copies of the reader's limits", () => {
  it('equal the reader’s', async () => {
    const limits = await import('../src/formats/gguf/limits.js');
    const writer = fs.readFileSync(path.join(import.meta.dirname, '..', 'src', 'convert', 'gguf-output.ts'), 'utf8');
    expect(writer).toContain(`const MAX_GGUF_KEY_BYTES = ${limits.MAX_GGUF_KEY_BYTES.toLocaleString('en').replace(/,/g, '_')};`);
    expect(writer).toContain(`const MAX_GGUF_ARRAY_LENGTH = ${limits.MAX_GGUF_ARRAY_LENGTH.toLocaleString('en').replace(/,/g, '_')};`);
  });
});
