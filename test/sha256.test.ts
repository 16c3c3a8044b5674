import { describe, expect, it } from 'vitest';
import * as fc from 'fast-check';
import { createHash } from 'node:crypto';
import { createSha256, sha256, toHex } from '../src/integrity/sha256.js';

const ascii = (s: string): Uint8Array => new TextEncoder().encode(s);
const node = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

describe('sha256 (TypeScript, for browsers)', () => {
  // FIPS 180-4 examples (NIST CSRC "SHA256.pdf", "SHA2_Additional.pdf") and the NESSIE million-a vector.
  it.each([
    ['', 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'],
    ['abc', 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad'],
    ['abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq', '248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1'],
    [
      'abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu',
      'cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1',
    ],
  ])('FIPS vector %j', (message, digest) => {
    expect(toHex(sha256(ascii(message)))).toBe(digest);
  });

  it('one million "a" (FIPS 180-2 appendix B.3), fed in uneven pieces', () => {
    const h = createSha256();
    const a = new Uint8Array(1_000_000).fill(0x61);
    for (let at = 0, step = 1; at < a.length; at += step, step = (step * 7 + 3) % 9973) h.update(a.subarray(at, Math.min(a.length, at + step)));
    expect(toHex(h.digest())).toBe('cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0');
  });

  it('every length from 0 to 300 bytes (all the padding cases) equals node:crypto', () => {
    const bytes = new Uint8Array(300).map((_, i) => (i * 131 + 7) & 0xff);
    for (let n = 0; n <= 300; n++) expect([n, toHex(sha256(bytes.subarray(0, n)))]).toEqual([n, node(bytes.subarray(0, n))]);
  });

  it('random bytes in random chunkings equal node:crypto, bit for bit (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 5000 }), fc.array(fc.nat({ max: 5000 }), { maxLength: 12 }), (bytes, cuts) => {
        const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
        const h = createSha256();
        let at = 0;
        for (const p of [...points, bytes.length]) {
          h.update(bytes.subarray(at, p));
          at = p;
        }
        expect(toHex(h.digest())).toBe(node(bytes));
      }),
      { numRuns: 300 },
    );
  });

  it('hashes views at any offset of a larger buffer (DataView over the view, not the buffer)', () => {
    const big = new Uint8Array(1000).map((_, i) => i & 0xff);
    for (const offset of [0, 1, 3, 63, 64, 65]) {
      const view = big.subarray(offset, offset + 500);
      expect(toHex(sha256(view))).toBe(node(view));
    }
  });

  it('a 16 MiB input in 1 MiB chunks equals node:crypto', () => {
    const bytes = new Uint8Array(16 << 20);
    for (let i = 0; i < bytes.length; i += 4096) bytes[i] = (i >>> 12) & 0xff;
    const h = createSha256();
    for (let at = 0; at < bytes.length; at += 1 << 20) h.update(bytes.subarray(at, at + (1 << 20)));
    expect(toHex(h.digest())).toBe(node(bytes));
  });

  it('digest() ends the hash', () => {
    const h = createSha256();
    h.update(ascii('abc'));
    h.digest();
    expect(() => h.digest()).toThrow(/twice/);
    expect(() => h.update(ascii('x'))).toThrow(/after digest/);
  });
});
