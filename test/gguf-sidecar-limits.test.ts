import { describe, expect, it, vi } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { convertModel } from '../src/node/convert.js';
import { parseGgufSidecar } from '../src/tensor/gguf-metadata.js';
import { smallGguf } from './helpers/gguf.js';
import { tempDir } from './helpers/temp.js';

/**
 * The sidecar's limits, made small here (the real ones are hundreds of MiB and 64 KiB): a sidecar
 * past MAX_GGUF_SIDECAR_BYTES refuses the conversion, naming the key, with nothing left behind; a
 * string longer than MAX_GGUF_METADATA_STRING goes to the sidecar, read again from the file when the
 * header parse walked past it.
 */
vi.mock('../src/tensor/gguf-metadata.js', async (original) => ({
  ...(await original<typeof import('../src/tensor/gguf-metadata.js')>()),
  MAX_GGUF_SIDECAR_BYTES: 800,
  MAX_GGUF_METADATA_STRING: 20,
}));
vi.mock('../src/formats/gguf/limits.js', async (original) => ({
  ...(await original<typeof import('../src/formats/gguf/limits.js')>()),
  MAX_GGUF_KEPT_ARRAY: 8,
  MAX_GGUF_KEPT_STRING: 30,
}));

const FIX = path.join(import.meta.dirname, 'fixtures', 'gguf-metadata');
const tmp = tempDir('gguf-sidecar-limits');

describe('the GGUF metadata sidecar within its limits', () => {
  it('past MAX_GGUF_SIDECAR_BYTES: GgufLimit naming the key; no output, no sidecar, no temporary file', async () => {
    const dir = fs.mkdtempSync(path.join(tmp, 'limit-'));
    await expect(convertModel(path.join(FIX, 'all-types.gguf'), { output: path.join(dir, 'm.safetensors') })).rejects.toMatchObject({
      code: 'GgufLimit',
      message: expect.stringMatching(/test\.arr\.long\.(i32|str).*MAX_GGUF_SIDECAR_BYTES/),
    });
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  it('long strings go to the sidecar, the ones the header walked past read again from the file', async () => {
    const dir = fs.mkdtempSync(path.join(tmp, 'strings-'));
    // 'medium' is kept by the header parse (up to 30 bytes here), 'long' (80 bytes) is walked past and read again.
    const file = path.join(dir, 's.gguf');
    fs.writeFileSync(file, smallGguf([['short', 'abc'], ['medium', 'x'.repeat(25)], ['long', 'ü'.repeat(40)]]));
    const summary = await convertModel(file);
    expect(summary.companions.map((c) => c.keys)).toEqual([['medium', 'long']]);
    const sidecar = parseGgufSidecar(fs.readFileSync(path.join(dir, 's.gguf-metadata.json'), 'utf8'));
    expect(Object.fromEntries([...sidecar.keys].map(([k, v]) => [k, v]))).toEqual({ medium: { type: 'STRING', value: 'x'.repeat(25) }, long: { type: 'STRING', value: 'ü'.repeat(40) } });
  });

  it('a string that is not valid UTF-8 (kept by the header, or read again) is converted with U+FFFD, and the summary says which', async () => {
    const dir = fs.mkdtempSync(path.join(tmp, 'utf8-'));
    const file = path.join(dir, 'u.gguf');
    fs.writeFileSync(file, smallGguf([['bad', Buffer.from([0x61, 0xff])], ['bad.long', Buffer.concat([Buffer.alloc(40, 0x62), Buffer.from([0xc3])])], ['bom', '\ufeffx']]));
    const summary = await convertModel(file);
    expect(summary.notes).toEqual(expect.arrayContaining(['metadata bad: not valid UTF-8; the bad bytes are U+FFFD in the output', 'metadata bad.long: not valid UTF-8; the bad bytes are U+FFFD in the output']));
    const sidecar = parseGgufSidecar(fs.readFileSync(path.join(dir, 'u.gguf-metadata.json'), 'utf8'));
    expect(sidecar.keys.get('bad.long')!.value).toBe('b'.repeat(40) + '\ufffd');
  });
});
