import { describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { MemorySource } from '../src/io/byte-source.js';
import { openZip } from '../src/formats/zip/index.js';
import { MAX_FINDINGS_PER_FILE, verdictOf, type Finding, type ScanReport } from '../src/formats/findings.js';
import { scanBytes } from '../src/scan/scan.js';
import { ListedFindings, MAX_INFO_FINDINGS_PER_RULE } from '../src/scan/listed-findings.js';
import { convertCheckpoint } from '../src/node/convert.js';
import { buildZip, type CraftEntry } from './helpers/zip-writer.js';
import { npy } from './fixtures/scan/craft.js';
import { ROOT } from './helpers/paths.js';
import { tempDir } from './helpers/temp.js';

/**
 * Nothing a scan finds is hidden from its verdict: not by a thousand harmless findings before it (the
 * report's cap), not by a member too large to read whole or lying about its size, not by a CRC. Files
 * are crafted here, byte by byte; payloads are never run.
 */

const rules = (r: ScanReport): string[] => [...new Set(r.findings.map((f) => f.rule))].sort();
const P = (...parts: (string | number[] | Uint8Array)[]): Uint8Array =>
  Uint8Array.from(parts.flatMap((p) => (typeof p === 'string' ? [...Buffer.from(p, 'latin1')] : [...p])));
/** posix.system('true'), protocol 2. */
const EVIL = P([0x80, 2], 'cposix\nsystem\nq\x00X\x04\x00\x00\x00trueq\x01\x85q\x02Rq\x03.');
const NUMERIC = npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", new Uint8Array(8));
const OBJECT = npy("{'descr': '|O', 'fortran_order': False, 'shape': (1,), }", EVIL);
const numericMembers = (n: number, folder = ''): CraftEntry[] => Array.from({ length: n }, (_, i) => ({ name: `${folder}a${String(i).padStart(4, '0')}.npy`, data: NUMERIC }));

/** The entries of the torch-written sample checkpoint, as they are. */
async function sampleCheckpoint(): Promise<CraftEntry[]> {
  const bytes = new Uint8Array(fs.readFileSync(path.join(ROOT, 'test/fixtures/torch/sample/pytorch_model.bin')));
  const zip = await openZip(new MemorySource(bytes, 'sample'));
  return Promise.all(zip.entries.map(async (e) => ({ name: e.name, data: (await e.read()).slice() })));
}

describe('the report cap hides nothing from the verdict', () => {
  it('a plain np.savez of 1,200 arrays is safe: its info findings are summarised, not a suspicious cap', async () => {
    const r = await scanBytes(buildZip(numericMembers(1200)), 'many.npz');
    expect([r.verdict, rules(r)]).toEqual(['safe', ['npy/valid']]);
    expect(r.findings).toHaveLength(MAX_INFO_FINDINGS_PER_RULE + 1);
    expect(r.findings.at(-1)!.message).toMatch(/^and 1180 more npy\/valid findings like the ones above \(1200 in all\)/);
  });

  it('a dangerous data.pkl after 1,000 benign .npy members is dangerous, and listed', async () => {
    const torch = (await sampleCheckpoint()).map((e) => (e.name.endsWith('data.pkl') ? { ...e, data: EVIL } : e));
    const r = await scanBytes(buildZip([...numericMembers(1000, 'pytorch_model/extra/'), ...torch]), 'padded.bin');
    expect(r.verdict).toBe('dangerous');
    expect(r.findings.find((f) => f.severity === 'dangerous')).toMatchObject({ rule: 'pickle/dangerous-global', location: 'padded.bin:pytorch_model/data.pkl@2' });
    expect(rules(r)).not.toContain('scan/too-many-findings');
  });

  it('an object array after 1,000 benign members of a real checkpoint: convert refuses it, as without the padding', async () => {
    const dir = tempDir('scan-cap');
    const entries = [...(await sampleCheckpoint()), ...numericMembers(1000, 'pytorch_model/extra/'), { name: 'pytorch_model/extra/z.npy', data: OBJECT }];
    const r = await scanBytes(buildZip(entries), 'padded.bin');
    expect(r.verdict).toBe('dangerous');
    const file = path.join(dir, 'padded.bin');
    fs.writeFileSync(file, buildZip(entries));
    await expect(convertCheckpoint(file)).rejects.toMatchObject({ code: 'UnsafeFile', message: expect.stringMatching(/posix\.system/) });
    expect(fs.readdirSync(dir)).toEqual(['padded.bin']);
  });

  it('the list: worse findings take the place of lesser ones, the verdict counts every finding, identical ones are listed once', () => {
    const f = (severity: Finding['severity'], i: number, rule = `r/${severity}`): Finding => ({ severity, rule, message: `m${i}`, location: 'x' });
    const list = new ListedFindings();
    for (let i = 0; i < MAX_FINDINGS_PER_FILE + 5; i++) list.add(f('suspicious', i));
    list.add(f('dangerous', 0));
    for (let i = 0; i < 30; i++) list.add(f('info', i));
    const out = list.findings('x');
    expect(list.verdict).toBe('dangerous');
    expect(verdictOf(out)).toBe('dangerous');
    expect(out.filter((x) => x.severity === 'dangerous')).toHaveLength(1);
    expect(out.filter((x) => x.rule === 'r/suspicious')).toHaveLength(MAX_FINDINGS_PER_FILE - 1);
    expect(out.at(-1)).toMatchObject({ severity: 'suspicious', rule: 'scan/too-many-findings', message: expect.stringMatching(/^6 more findings/) });
    expect(out.filter((x) => x.rule === 'r/info')).toEqual([{ severity: 'info', rule: 'r/info', message: 'and 30 more r/info findings like the ones above (30 in all), not listed', location: 'x' }]);

    // Only info findings left out: no suspicious summary. A dangerous finding past a full list of dangerous ones still counts.
    const infos = new ListedFindings(10);
    for (let i = 0; i < 10; i++) infos.add(f('info', i, `r/${i}`));
    infos.add(f('suspicious', 0));
    infos.add(f('suspicious', 0));
    expect(infos.verdict).toBe('suspicious');
    expect(infos.findings('x').map((x) => x.rule)).toEqual([...Array.from({ length: 9 }, (_, i) => `r/${i}`), 'r/suspicious', 'r/9']);
    const full = new ListedFindings(2);
    for (let i = 0; i < 3; i++) full.add(f('dangerous', i));
    expect([full.verdict, full.findings('x').map((x) => x.rule)]).toEqual(['dangerous', ['r/dangerous', 'r/dangerous', 'scan/too-many-findings']]);
  });
});

describe('a member is analysed as it actually decodes, whatever it declares', () => {
  /** Bytes compressed on their own and flushed: non-final deflate blocks, which concatenate. */
  const flushed = (p: Uint8Array): Uint8Array => new Uint8Array(zlib.deflateRawSync(p, { finishFlush: zlib.constants.Z_SYNC_FLUSH }));
  /** Parts as one deflate stream: each flushed, then a final empty block. */
  const deflated = (...parts: Uint8Array[]): Uint8Array => P(...parts.map(flushed), new Uint8Array(zlib.deflateRawSync(new Uint8Array(0))));
  const member = (compressed: Uint8Array, size: number, crc = 0, method = 8): CraftEntry => ({ name: 'x.npy', method, compressed, size, compressedSize: compressed.length, crc });
  const disagreement = (r: ScanReport): string | undefined => r.findings.find((f) => f.rule === 'zip/unreadable-entry')?.message;

  it('an object array in a member declaring 300 MiB (it holds 164 bytes): Python reads those bytes', async () => {
    const r = await scanBytes(buildZip([member(deflated(OBJECT), 300 << 20, zlib.crc32(OBJECT))]), 'liar.npz');
    expect(r.verdict).toBe('dangerous');
    expect(r.findings.find((f) => f.severity === 'dangerous')!.location).toBe('liar.npz:x.npy@128@2');
    expect(disagreement(r)).toMatch(/declares 314572800 bytes but its data decodes to 164 bytes/);
  });

  it('an object array in a member declaring 1,000 bytes: analysed, not only reported unreadable', async () => {
    const r = await scanBytes(buildZip([member(deflated(OBJECT), 1000, zlib.crc32(OBJECT))]), 'liar.npz');
    expect(r.verdict).toBe('dangerous');
    expect(disagreement(r)).toMatch(/declares 1000 bytes but its data decodes to 164 bytes/);
  });

  it('a member decoding to more than it declares: the declared bytes are analysed (what Python reads), the disagreement reported', async () => {
    const r = await scanBytes(buildZip([member(deflated(OBJECT, new Uint8Array(1000)), OBJECT.length, zlib.crc32(OBJECT))]), 'long.npz');
    expect(r.verdict).toBe('dangerous');
    expect(disagreement(r)).toMatch(/declares 164 bytes but its data decodes to more/);
  });

  it('an object array in a real member larger than MAX_SCANNED_PICKLE_BYTES (288 MiB), and a plain one of 300 MiB', async () => {
    const zeros = flushed(new Uint8Array(16 << 20));
    const big = (head: Uint8Array, blocks: number): CraftEntry =>
      member(P(flushed(head), ...Array.from({ length: blocks }, () => zeros), deflated()), head.length + blocks * (16 << 20));
    const evil = await scanBytes(buildZip([big(OBJECT, 18)]), 'big.npz');
    expect(evil.verdict).toBe('dangerous');
    expect(rules(evil)).toContain('npy/limit-exceeded');
    const plain = await scanBytes(buildZip([big(npy("{'descr': '<f4', 'fortran_order': False, 'shape': (79691776,), }", new Uint8Array(0)), 19)]), 'big.npz');
    expect([plain.verdict, rules(plain)]).toEqual(['safe', ['npy/valid']]);
  });

  it('a member whose deflate data breaks after the payload: what came before is analysed', async () => {
    const broken = P(deflated(OBJECT).subarray(0, -2), new Uint8Array(64).fill(0xff));
    const r = await scanBytes(buildZip([member(broken, OBJECT.length, zlib.crc32(OBJECT))]), 'broken.npz');
    expect(r.verdict).toBe('dangerous');
    expect(disagreement(r)).toMatch(/cannot be decoded past its first 164 bytes/);
  });

  // Zip methods 14 (LZMA) and 12 (bzip2) of the object array (Python's zipfile wrote them; only compressed, never loaded).
  const lzma = new Uint8Array(Buffer.from('CQQFAF0AAIAAAEmThqTe04J5alsNIzg2q52dTE3u423DMWEdGqUP15wK9ZN7M0v9nbitAHKnlW2pTxeDR1R14Cd4fkzQjDGIIJD2W8DEAU0BRINjw4urTFyuCmEXxREtqXK0NqR8Oo9b1LFB1JXNNVIglMGKgDYIpxjb/dx1b3KI/5cSoAA=', 'base64'));
  const bzip2 = new Uint8Array(Buffer.from('QlpoOTFBWSZTWXNxd1EAADz/4HMQAAhA56AwAQPSIK9v325CBAgAIABqIqfpBqYmjIwjCM00jAmmxqhU0xNAAAAAABo0B0oUwJBXCEYTAlozVOiRU6AOSuT0ms1PQJ+AoJiCTftvk/EY5BtOC5ODrsPRTFAoPhOUQTJLLpMl2WUIcgQCXCdkb5bdFgp8/5jpn0LOsklP/F3JFOFCQc3F3UQ=', 'base64'));
  const payload = npy("{'descr': '|O', 'fortran_order': False, 'shape': (1,), }", P([0x80, 2], '\x8c\x05posix\x8c\x06system\x93\x8c\x1btouch /tmp/tensorsafe-marker\x85R.'));
  for (const [name, method, flags, compressed] of [['LZMA', 14, 2, lzma], ['bzip2', 12, 0, bzip2]] as const) {
    it(`an ${name} member declaring 300 MiB`, async () => {
      const r = await scanBytes(buildZip([{ ...member(compressed, 300 << 20, zlib.crc32(payload), method), flags }]), 'liar.npz');
      expect(r.verdict).toBe('dangerous');
      expect(disagreement(r)).toMatch(new RegExp(`declares 314572800 bytes but its data decodes to ${payload.length} bytes`));
    });
  }
});

describe('a wrong CRC on an npz member is reported where the member is read', () => {
  it('numeric members, deflated and stored: zip/bad-crc (np.load fails on them; convert says BadCrc)', async () => {
    for (const method of [0, 8]) {
      const zip = buildZip([{ name: 'a.npy', data: NUMERIC, method, crc: 1234 }, { name: 'b.npy', data: NUMERIC, method }]);
      const r = await scanBytes(zip, 'crc.npz');
      expect([method, r.verdict, rules(r)]).toEqual([method, 'suspicious', ['npy/valid', 'zip/bad-crc']]);
      expect(r.findings.filter((f) => f.rule === 'zip/bad-crc').map((f) => f.location)).toEqual(['crc.npz:a.npy']);
    }
  });
});

describe('findings are listed once', () => {
  it('a pickle with an npz appended: the payload is one finding (the pickle and the bytes before the archive are the same bytes)', async () => {
    const r = await scanBytes(P(EVIL, buildZip([{ name: 'a.npy', data: NUMERIC }])), 'two.npz');
    expect(r.verdict).toBe('dangerous');
    expect(r.findings.filter((f) => f.rule === 'pickle/dangerous-global')).toHaveLength(1);
  });
});
