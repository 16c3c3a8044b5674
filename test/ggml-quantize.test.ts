import { describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { GGML_QUANTIZERS, NonFiniteValue } from '../src/tensor/ggml-quantize.js';
import { GGML_BLOCK_FORMATS } from '../src/tensor/ggml-blocks.js';
import { ROOT } from './helpers/paths.js';

/** libggml's own bytes for the same rows (scripts/make-ggml-quantize-expected.py). */
const fixture = JSON.parse(fs.readFileSync(path.join(ROOT, 'test/fixtures/ggml-quantize/expected.json'), 'utf8')) as { cases: ({ name: string; f32: string } & Record<string, string>)[] };
const bytes = (b64: string): Uint8Array => new Uint8Array(Buffer.from(b64, 'base64'));

describe('ggml encoders equal libggml byte for byte', () => {
  for (const c of fixture.cases) {
    const raw = bytes(c.f32);
    const row = new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));
    for (const [kind, q] of GGML_QUANTIZERS) {
      if (kind === 'f32' || c[kind] === undefined) continue;
      it(`${c.name} as ${kind}`, () => {
        const blocks = row.length / q.elements;
        const out = new Uint8Array(blocks * q.bytes);
        q.encode(row, blocks, out);
        expect(Buffer.from(out).toString('base64')).toBe(c[kind]);
      });
    }
  }

  it('covers every type and the rows it was generated for', () => {
    for (const kind of ['f16', 'bf16', 'q8_0', 'q4_0', 'q4_k']) expect([kind, fixture.cases.filter((c) => c[kind] !== undefined).length >= 5]).toEqual([kind, true]);
  });

  it('block quantizers refuse NaN and infinity, naming the element', () => {
    for (const kind of ['q8_0', 'q4_0', 'q4_k']) {
      const q = GGML_QUANTIZERS.get(kind)!;
      const row = new Float32Array(q.elements);
      row[5] = Number.NaN;
      expect(() => q.encode(row, 1, new Uint8Array(q.bytes))).toThrow(NonFiniteValue);
      row[5] = Number.POSITIVE_INFINITY;
      expect(() => q.encode(row, 1, new Uint8Array(q.bytes))).toThrow(/element 5/);
    }
  });

  it('quantized blocks decode close to their input (the reader decodes them)', () => {
    const row = new Float32Array(512).map((_, i) => Math.sin(i * 0.37) * 2);
    for (const [kind, tolerance] of [['q8_0', 0.02], ['q4_0', 0.3], ['q4_k', 0.2]] as const) {
      const q = GGML_QUANTIZERS.get(kind)!;
      const out = new Uint8Array((512 / q.elements) * q.bytes);
      q.encode(row, 512 / q.elements, out);
      const back = new Float32Array(512);
      GGML_BLOCK_FORMATS.get(q.typeName)!.decode(out, 512 / q.elements, back);
      const worst = Math.max(...row.map((v, i) => Math.abs(v - back[i]!)));
      expect([kind, worst < tolerance, worst > 0]).toEqual([kind, true, true]);
    }
  });
});
