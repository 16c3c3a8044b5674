import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { unpackNibbleChunks, unpackNibbles } from '../src/tensor/nibbles.js';

/** 4-bit unpacking (ONNX INT4/UINT4) against a plain per-element reading, over any chunking and odd counts. */

function naive(packed: Uint8Array, count: number, signed: boolean): Uint8Array {
  const out = new Uint8Array(count);
  for (let i = 0; i < count; i++) {
    const n = (packed[i >> 1]! >> ((i & 1) * 4)) & 0xf;
    out[i] = (signed && n >= 8 ? n - 16 : n) & 0xff;
  }
  return out;
}

async function collect(chunks: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const parts: number[] = [];
  for await (const c of chunks) parts.push(...c);
  return Uint8Array.from(parts);
}

async function* split(bytes: Uint8Array, sizes: number[]): AsyncGenerator<Uint8Array> {
  let o = 0;
  for (const s of sizes) {
    if (o >= bytes.length) break;
    yield bytes.subarray(o, Math.min(bytes.length, o + s));
    o += s;
  }
  if (o < bytes.length) yield bytes.subarray(o);
}

describe('unpackNibbles', () => {
  it('low nibble first; INT4 sign-extended, UINT4 as is', () => {
    const out = new Uint8Array(3);
    unpackNibbles(Uint8Array.of(0xf8, 0x07), true, out);
    expect([...new Int8Array(out.buffer)]).toEqual([-8, -1, 7]);
    unpackNibbles(Uint8Array.of(0xf8, 0x07), false, out);
    expect([...out]).toEqual([8, 15, 7]);
  });

  it('equals a per-element reading for any bytes, count and chunking', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 1, maxLength: 200 }), fc.boolean(), fc.boolean(), fc.array(fc.integer({ min: 1, max: 17 }), { maxLength: 20 }), async (packed, signed, odd, sizes) => {
        const count = packed.length * 2 - (odd ? 1 : 0);
        expect(await collect(unpackNibbleChunks(split(packed, sizes), signed, count))).toEqual(naive(packed, count, signed));
        // An output view at an odd offset takes the byte-by-byte path.
        const buf = new Uint8Array(count + 1);
        unpackNibbles(packed, signed, buf.subarray(1));
        expect(buf.subarray(1)).toEqual(naive(packed, count, signed));
      }),
    );
  });
});
