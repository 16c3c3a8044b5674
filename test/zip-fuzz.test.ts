import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { MemorySource, type ByteSource } from '../src/io/byte-source.js';
import { openZip, ZipError, type ZipArchive } from '../src/formats/zip/index.js';
import { buildZip, type CraftEntry } from './helpers/zip-writer.js';
import { ROOT } from './helpers/paths.js';

/**
 * Fuzzing the zip reader: mutated valid archives and random bytes must open (strict and non-strict)
 * and read every entry, or fail with a coded ZipError: never another exception, never a hang, never a
 * read outside the source.
 */

/** Fails the test (with an error that is not a ZipError) on any read outside the bytes; counts what is read. */
class BoundsCheckingSource implements ByteSource {
  readonly name = 'fuzz.zip';
  readonly size: number;
  bytesRead = 0;
  reads = 0;
  private readonly inner: MemorySource;

  constructor(
    bytes: Uint8Array,
    readonly coalesceGap = 0,
  ) {
    this.inner = new MemorySource(bytes, 'fuzz.zip');
    this.size = bytes.length;
  }

  read(offset: number, length: number): Promise<Uint8Array> {
    if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0 || offset + length > this.size) {
      return Promise.reject(new OutOfBounds(`read of ${length} bytes at ${offset} outside ${this.size}`));
    }
    this.reads++;
    this.bytesRead += length;
    return this.inner.read(offset, length);
  }
}

class OutOfBounds extends Error {}

function expectCoded(e: unknown): void {
  if (!(e instanceof ZipError) || typeof e.code !== 'string' || e.message.length === 0) throw e;
}

async function attempt<T>(f: () => Promise<T>): Promise<T | undefined> {
  try {
    return await f();
  } catch (e) {
    expectCoded(e);
    return undefined;
  }
}

/** Budget small enough that a mutated bomb cannot exhaust memory in the test process. */
const MAX_INFLATED = 8 * 1024 * 1024;

async function exercise(bytes: Uint8Array): Promise<void> {
  for (const strict of [true, false]) {
    for (const gap of [0, 64 * 1024]) {
      const source = new BoundsCheckingSource(bytes, gap);
      const zip: ZipArchive | undefined = await attempt(() => openZip(source, { strict, maxInflatedEntryBytes: MAX_INFLATED }));
      if (!zip) continue;
      if (strict) expect(zip.findings).toEqual([]);
      for (const f of zip.findings) expect(typeof f.code).toBe('string');
      expect(zip.leadingBytes).toBeGreaterThanOrEqual(0);
      expect(zip.trailingBytes).toBeGreaterThanOrEqual(0);
      for (const entry of zip.entries.slice(0, 50)) {
        expect(zip.get(entry.name)).toBeDefined();
        const data = await attempt(() => entry.read());
        if (data) expect(data.length).toBeLessThanOrEqual(Math.max(entry.size, entry.compressedSize));
        await attempt(() => entry.checkCrc());
        const s = await attempt(() => entry.source());
        if (s) {
          expect(s.size).toBeLessThanOrEqual(Math.max(entry.size, entry.compressedSize));
          if (s.size > 0) await attempt(() => s.read(s.size - 1, 1));
        }
        await attempt(async () => {
          const raw = entry.rawSource();
          if (raw.size > 0) await raw.read(0, Math.min(raw.size, 16));
        });
      }
    }
  }
}

const FIXTURES = path.join(ROOT, 'test', 'fixtures', 'zip');
const seeds: Uint8Array[] = fs
  .readdirSync(FIXTURES)
  .filter((f) => !f.endsWith('.json'))
  .map((f) => new Uint8Array(fs.readFileSync(path.join(FIXTURES, f))))
  .filter((b) => b.length < 8000);

const crafted: CraftEntry[] = [
  { name: 'archive/data.pkl', data: '\x80\x02}q\x00.', align: 64 },
  { name: 'archive/data/0', data: new Uint8Array(300).fill(7), method: 8 },
  { name: 'archive/version', data: '3\n', descriptor: true },
];
seeds.push(buildZip(crafted), buildZip(crafted.map((e) => ({ ...e, zip64: true })), { zip64: true, comment: 'c' }));

const SIGNATURES = [0x04034b50, 0x02014b50, 0x06054b50, 0x06064b50, 0x07064b50];
const INTERESTING = [0, 1, 0x7f, 0x80, 0xff, 0xffff, 0xffffffff, 0xfffffffe, 0x10000, 30, 46, 64];

const mutation = fc.oneof(
  fc.record({ kind: fc.constant('byte' as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ kind: fc.constant('field' as const), at: fc.nat(), value: fc.nat({ max: 60 }), pick: fc.nat(), width: fc.constantFrom(1, 2, 4, 8) }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), value: fc.nat({ max: 64 }) }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat(), value: fc.constant(0) }),
  fc.record({ kind: fc.constant('duplicate' as const), at: fc.nat(), value: fc.nat({ max: 200 }), pick: fc.nat() }),
);
type Mutation = { kind: string; at: number; value: number; pick?: number; width?: number };

/** Positions of structure signatures: field mutations hit the headers' fields rather than data. */
function signatureOffsets(b: Uint8Array): number[] {
  const out: number[] = [];
  for (let i = 0; i + 4 <= b.length; i++) {
    if (b[i] !== 0x50 || b[i + 1] !== 0x4b) continue;
    const v = b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16) | (b[i + 3]! << 24);
    if (SIGNATURES.includes(v >>> 0)) out.push(i);
  }
  return out;
}

function mutate(bytes: Uint8Array, mutations: Mutation[]): Uint8Array {
  let b = Array.from(bytes);
  for (const m of mutations) {
    const at = b.length === 0 ? 0 : m.at % b.length;
    if (m.kind === 'byte') b[at] = m.value;
    else if (m.kind === 'insert') b.splice(at, 0, m.value);
    else if (m.kind === 'delete') b.splice(at, m.value + 1);
    else if (m.kind === 'truncate') b = b.slice(0, at);
    else if (m.kind === 'duplicate') b.splice(at, 0, ...b.slice((m.pick ?? 0) % Math.max(1, b.length), ((m.pick ?? 0) % Math.max(1, b.length)) + m.value));
    else {
      const sigs = signatureOffsets(Uint8Array.from(b));
      if (sigs.length === 0) continue;
      const pos = sigs[m.at % sigs.length]! + 4 + m.value;
      const value = INTERESTING[(m.pick ?? 0) % INTERESTING.length]!;
      for (let k = 0; k < (m.width ?? 1) && pos + k < b.length; k++) b[pos + k] = k < 4 ? (value >>> (8 * k)) & 0xff : 0;
    }
  }
  return Uint8Array.from(b);
}

describe('zip fuzzing', () => {
  it('mutated real and crafted archives: success or a coded ZipError, in bounds', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...seeds), fc.array(mutation, { minLength: 1, maxLength: 6 }), async (seed, mutations) => {
        await exercise(mutate(seed, mutations));
      }),
      { numRuns: 1500 },
    );
  });

  it('header-field mutations only', async () => {
    const field = fc.record({ kind: fc.constant('field'), at: fc.nat(), value: fc.nat({ max: 60 }), pick: fc.nat(), width: fc.constantFrom(1, 2, 4, 8) });
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...seeds), fc.array(field, { minLength: 1, maxLength: 3 }), async (seed, mutations) => {
        await exercise(mutate(seed, mutations));
      }),
      { numRuns: 1500 },
    );
  });

  it('random bytes, with and without a zip-looking start and end', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 400 }), fc.boolean(), fc.boolean(), async (random, head, tail) => {
        const parts = [head ? Uint8Array.of(0x50, 0x4b, 3, 4) : new Uint8Array(0), random, tail ? Uint8Array.of(0x50, 0x4b, 5, 6, ...new Uint8Array(18)) : new Uint8Array(0)];
        const bytes = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
        let at = 0;
        for (const p of parts) {
          bytes.set(p, at);
          at += p.length;
        }
        await exercise(bytes);
      }),
      { numRuns: 1000 },
    );
  });

  it('an out-of-bounds read would fail the fuzz test (the guard works)', async () => {
    const source = new BoundsCheckingSource(new Uint8Array(10));
    await expect(source.read(5, 6)).rejects.toBeInstanceOf(OutOfBounds);
  });
});
