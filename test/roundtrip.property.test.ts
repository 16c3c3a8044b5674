import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { save } from '../src/safetensors/save.js';
import { load, loadHeader } from '../src/safetensors/load.js';
import { SafetensorsStreamWriter } from '../src/safetensors/stream-writer.js';
import { MemorySink } from '../src/io/byte-sink.js';
import { loadFile, loadFileSync, saveFile, saveFileSync } from '../src/node/files.js';
import { DTYPE_INFO } from '../src/dtype/dtypes.js';
import type { Tensor } from '../src/dtype/tensor.js';
import { compareCodePoints } from '../src/util/strings.js';
import { metadataArb, rawBytes, tensorsArb } from './helpers/arbitraries.js';
import { tempDir } from './helpers/temp.js';

function expectSame(actual: Map<string, Tensor>, expected: Record<string, Tensor>): void {
  expect([...actual.keys()].sort()).toEqual(Object.keys(expected).sort());
  for (const [name, t] of Object.entries(expected)) {
    const got = actual.get(name)!;
    expect(got.dtype).toBe(t.dtype);
    expect(got.shape).toEqual(t.shape);
    expect(got.data).toBeInstanceOf(DTYPE_INFO[t.dtype].array);
    expect(Buffer.from(rawBytes(got)).equals(Buffer.from(rawBytes(t)))).toBe(true);
  }
}

const dir = tempDir('prop');

describe('round trips, bit for bit, for every dtype', () => {
  it('save → load', () => {
    fc.assert(
      fc.property(tensorsArb, metadataArb, (tensors, metadata) => {
        const bytes = save(tensors, { metadata });
        expectSame(load(bytes), tensors);
        const header = loadHeader(bytes);
        expect(header.metadata()).toEqual(metadata ?? null);
        // The data buffer starts 8-aligned, and every tensor is aligned for its typed array.
        expect(header.header.dataStart % 8).toBe(0);
        for (const t of header.header.tensors.values()) expect(t.dataOffsets[0] % DTYPE_INFO[t.dtype].array.BYTES_PER_ELEMENT).toBe(0);
        // Deterministic: the same tensors in another order give the same bytes.
        const reversed = Object.fromEntries(Object.entries(tensors).reverse());
        expect(Buffer.from(save(reversed, { metadata })).equals(Buffer.from(bytes))).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('saveFileSync → loadFileSync and saveFile → loadFile', async () => {
    await fc.assert(
      fc.asyncProperty(tensorsArb, metadataArb, async (tensors, metadata) => {
        const a = path.join(dir, 'a.safetensors');
        const b = path.join(dir, 'b.safetensors');
        saveFileSync(tensors, a, { metadata });
        await saveFile(tensors, b, { metadata });
        const expected = save(tensors, { metadata });
        expect(fs.readFileSync(a).equals(Buffer.from(expected))).toBe(true);
        expect(fs.readFileSync(b).equals(Buffer.from(expected))).toBe(true);
        expectSame(loadFileSync(a), tensors);
        expectSame(await loadFile(b), tensors);
      }),
      { numRuns: 60 },
    );
    expect(fs.readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('streaming writer, random chunking, sequential and positional sinks', async () => {
    await fc.assert(
      fc.asyncProperty(tensorsArb, metadataArb, fc.integer({ min: 1, max: 64 }), fc.boolean(), async (tensors, metadata, chunk, sequential) => {
        const specs = Object.entries(tensors).map(([name, t]) => ({ name, dtype: t.dtype, shape: t.shape }));
        const memory = new MemorySink();
        const sink = sequential ? { name: 'seq', write: (c: Uint8Array) => memory.write(c.slice()), close: () => memory.close(), abort: () => memory.abort() } : memory;
        const writer = await SafetensorsStreamWriter.create(sink, specs, { metadata });
        // Positional sinks take tensors in any order: write them in reverse file order.
        const order = sequential ? writer.order : [...writer.order].reverse();
        for (const name of order) {
          const bytes = rawBytes(tensors[name]!);
          for (let at = 0; at < bytes.length; at += chunk) await writer.write(name, bytes.subarray(at, at + chunk));
        }
        await writer.close();
        expect(Buffer.from(memory.bytes).equals(Buffer.from(save(tensors, { metadata })))).toBe(true);
      }),
      { numRuns: 200 },
    );
  });

  it('code point order equals UTF-8 byte order', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme' }), fc.string({ unit: 'grapheme' }), (a, b) => {
        expect(Math.sign(compareCodePoints(a, b))).toBe(Math.sign(Buffer.compare(Buffer.from(a), Buffer.from(b))));
      }),
      { numRuns: 2000 },
    );
  });
});
