import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { save } from '../src/safetensors/save.js';
import { load } from '../src/safetensors/load.js';
import { SafetensorsFile } from '../src/safetensors/reader.js';
import { MemorySource, type ByteSource } from '../src/io/byte-source.js';
import { TensorsafeError } from '../src/errors.js';
import { parseHeaderJson } from '../src/safetensors/header-json.js';
import { tensorsArb } from './helpers/arbitraries.js';

/**
 * Fuzzing: mutated valid files and random bytes must either load or fail with a coded
 * TensorsafeError: never another exception, a hang, or a read beyond the file.
 */

/** A source that fails the test if anything reads past its bytes or more than once the file's size in total. */
class CountingSource implements ByteSource {
  readonly name = 'fuzz';
  bytesRead = 0;
  private readonly inner: MemorySource;
  constructor(bytes: Uint8Array) {
    this.inner = new MemorySource(bytes, 'fuzz');
  }
  get size(): number {
    return this.inner.size;
  }
  read(offset: number, length: number): Promise<Uint8Array> {
    this.bytesRead += length;
    return this.inner.read(offset, length);
  }
}

function isCoded(e: unknown): boolean {
  return e instanceof TensorsafeError && typeof e.code === 'string' && e.code.length > 0 && e.message.length > 0;
}

const mutation = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), value: fc.constant(0) }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat(), value: fc.constant(0) }),
  fc.record({ kind: fc.constant('digit' as const), at: fc.nat(), value: fc.integer({ min: 0, max: 9 }) }),
  fc.record({ kind: fc.constant('json' as const), at: fc.nat(), value: fc.integer({ min: 0, max: 12 }) }),
);
const JSON_BITS = ['{', '}', '[', ']', ',', ':', '"', '\\', '-', '.', 'e', '9'.repeat(25), '"__metadata__"'];

function mutate(bytes: Uint8Array, mutations: { kind: string; at: number; value: number }[]): Uint8Array {
  let b = [...bytes];
  for (const m of mutations) {
    const at = b.length === 0 ? 0 : m.at % b.length;
    if (m.kind === 'flip') b[at] = m.value;
    else if (m.kind === 'insert') b.splice(at, 0, m.value);
    else if (m.kind === 'delete') b.splice(at, 1);
    else if (m.kind === 'truncate') b = b.slice(0, at);
    else if (m.kind === 'digit') {
      // Change a digit inside the header: offsets, shapes and the length field.
      const digits = b.map((c, i) => (c >= 0x30 && c <= 0x39 ? i : -1)).filter((i) => i >= 0);
      if (digits.length > 0) b[digits[m.at % digits.length]!] = 0x30 + m.value;
    } else {
      b.splice(Math.max(8, at), 0, ...Buffer.from(JSON_BITS[m.value]!, 'latin1'));
    }
  }
  return new Uint8Array(b);
}

async function exercise(bytes: Uint8Array): Promise<void> {
  try {
    load(bytes);
  } catch (e) {
    if (!isCoded(e)) throw e;
  }
  const source = new CountingSource(bytes);
  let file: SafetensorsFile;
  try {
    file = await SafetensorsFile.open(source);
  } catch (e) {
    if (!isCoded(e)) throw e;
    return;
  }
  for (const name of file.offsetKeys()) {
    await file.getTensor(name);
    const info = file.info(name);
    try {
      await file.getSlice(name).get(...info.shape.map((d) => ({ start: 1, stop: d, step: 2 })));
    } catch (e) {
      if (!isCoded(e)) throw e;
    }
  }
  // Header once, every tensor once, every slice at most once more.
  expect(source.bytesRead).toBeLessThanOrEqual(2 * bytes.length + 8);
}

describe('fuzz', () => {
  it('mutated valid files load or fail with a coded error', async () => {
    await fc.assert(
      fc.asyncProperty(tensorsArb, fc.array(mutation, { minLength: 1, maxLength: 4 }), async (tensors, mutations) => {
        await exercise(mutate(save(tensors, { metadata: { format: 'pt' } }), mutations));
      }),
      { numRuns: 3000 },
    );
  });

  it('random bytes, with and without a plausible length prefix', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 300 }), fc.boolean(), async (bytes, prefix) => {
        if (prefix && bytes.length >= 8) new DataView(bytes.buffer, bytes.byteOffset).setBigUint64(0, BigInt(bytes.length - 8), true);
        await exercise(bytes);
      }),
      { numRuns: 3000 },
    );
  });

  it('the header parser on JSON-like text never throws anything but a coded error', () => {
    const token = fc.constantFrom('{', '}', '[', ']', ',', ':', '"a"', '"__metadata__"', '"dtype"', '"shape"', '"data_offsets"', '"F32"', '0', '4', '-1', '1.5', 'null', 'true', ' ', '"\\ud800"', '"\\u0041"');
    fc.assert(
      fc.property(fc.array(token, { maxLength: 40 }), (tokens) => {
        try {
          parseHeaderJson(tokens.join(''));
        } catch (e) {
          expect(isCoded(e)).toBe(true);
        }
      }),
      { numRuns: 5000 },
    );
  });
});
