import { InflateProblem } from './inflate-problem.js';

/**
 * bzip2 (zip method 12): one bzip2 stream (`BZh1`–`BZh9`, blocks of Huffman-coded move-to-front
 * symbols over a Burrows–Wheeler transform, then a run-length stage), decoded as Python's zipfile
 * (np.load of an .npz) reads it. Output stops at `expectedSize` bytes (zip bombs); a stream that ends
 * short of it, or undecodable data, is an InflateProblem. CRCs are not checked: a scanner reads what a
 * loader might, and a bad CRC only makes the loader fail later. Randomised blocks (bzip2 0.9.0) are refused.
 */
export function decodeZipBzip2(data: Uint8Array, expectedSize: number): Uint8Array {
  return zipBzip2Decoder(data, expectedSize).decode();
}

/** The decoder of a zip bzip2 member: `decode()` stops at `maxSize` bytes; `produced()` is what it decoded, also after an InflateProblem. */
export function zipBzip2Decoder(data: Uint8Array, maxSize: number): { decode(): Uint8Array; produced(): Uint8Array } {
  return new Bzip2Decoder(data, maxSize);
}

const BLOCK_MAGIC = 0x314159265359;
const END_MAGIC = 0x177245385090;
const MAX_GROUPS = 6;
const MAX_CODE_LENGTH = 20;
const GROUP_SIZE = 50;

function bad(message: string): InflateProblem {
  return new InflateProblem('BadDeflate', `invalid bzip2 data (${message})`);
}

class Bzip2Decoder {
  private bitPos = 0;
  private out: Uint8Array;
  private pos = 0;

  constructor(
    private readonly input: Uint8Array,
    private readonly size: number,
  ) {
    this.out = new Uint8Array(Math.min(size, Math.max(1 << 16, input.length * 8)));
  }

  private bits(n: number): number {
    let v = 0;
    for (let i = 0; i < n; i++) {
      const byte = this.bitPos >>> 3;
      if (byte >= this.input.length) throw bad('the stream ends early');
      v = v * 2 + ((this.input[byte]! >>> (7 - (this.bitPos & 7))) & 1);
      this.bitPos++;
    }
    return v;
  }

  private put(b: number): void {
    if (this.pos >= this.size) return; // Python's zipfile keeps the declared size and drops the rest
    if (this.pos === this.out.length) {
      const grown = new Uint8Array(Math.min(this.size, this.out.length * 2));
      grown.set(this.out);
      this.out = grown;
    }
    this.out[this.pos++] = b;
  }

  /** The bytes decoded so far (all of them once decode() returned; what came before the failure when it threw). */
  produced(): Uint8Array {
    return this.out.subarray(0, this.pos);
  }

  decode(): Uint8Array {
    if (this.bits(24) !== 0x425a68 /* BZh */) throw bad('no "BZh" signature');
    const level = this.bits(8) - 0x30;
    if (level < 1 || level > 9) throw bad('a block size that is not 1-9');
    const maxBlock = level * 100_000;
    for (;;) {
      const magic = this.bits(48);
      if (magic === END_MAGIC) break;
      if (magic !== BLOCK_MAGIC) throw bad('a block does not start with its signature');
      this.bits(32); // block CRC
      this.block(maxBlock);
      if (this.pos >= this.size) break;
    }
    if (this.pos < this.size) throw new InflateProblem('TooShort', `inflates to ${this.pos} bytes, not the declared ${this.size}`);
    return this.out.length === this.pos ? this.out : this.out.subarray(0, this.pos);
  }

  private block(maxBlock: number): void {
    if (this.bits(1)) throw bad('a randomised block');
    const origPtr = this.bits(24);
    // Symbols in use.
    const used: number[] = [];
    const ranges = this.bits(16);
    for (let i = 0; i < 16; i++) {
      if (!(ranges & (0x8000 >>> i))) continue;
      const bitsOf = this.bits(16);
      for (let j = 0; j < 16; j++) if (bitsOf & (0x8000 >>> j)) used.push(i * 16 + j);
    }
    if (used.length === 0) throw bad('a block uses no symbols');
    const alphaSize = used.length + 2;
    const groups = this.bits(3);
    if (groups < 2 || groups > MAX_GROUPS) throw bad('a number of Huffman groups that is not 2-6');
    const selectorCount = this.bits(15);
    if (selectorCount === 0) throw bad('no selectors');
    const mtfGroups = Array.from({ length: groups }, (_, i) => i);
    const selectors = new Uint8Array(selectorCount);
    for (let i = 0; i < selectorCount; i++) {
      let j = 0;
      while (this.bits(1)) if (++j >= groups) throw bad('a selector out of range');
      const v = mtfGroups[j]!;
      mtfGroups.splice(j, 1);
      mtfGroups.unshift(v);
      selectors[i] = v;
    }
    // Code lengths, then canonical decoding tables per group.
    const tables = [];
    for (let t = 0; t < groups; t++) {
      const lengths = new Uint8Array(alphaSize);
      let current = this.bits(5);
      for (let s = 0; s < alphaSize; s++) {
        for (;;) {
          if (current < 1 || current > MAX_CODE_LENGTH) throw bad('a Huffman code length out of range');
          if (!this.bits(1)) break;
          current += this.bits(1) ? -1 : 1;
        }
        lengths[s] = current;
      }
      tables.push(huffman(lengths));
    }
    // Move-to-front symbols with runs (RUNA, RUNB), into the BWT block.
    const block = new Uint8Array(maxBlock);
    let n = 0;
    const mtf = Uint8Array.from(used);
    const eob = alphaSize - 1;
    let run = 0;
    let runWeight = 1;
    const flushRun = (): void => {
      if (run === 0) return;
      if (n + run > maxBlock) throw bad('a block longer than its declared size');
      block.fill(mtf[0]!, n, n + run);
      n += run;
      run = 0;
      runWeight = 1;
    };
    for (let sel = 0, left = 0, table = tables[0]!; ; left--) {
      if (left === 0) {
        if (sel >= selectorCount) throw bad('more symbols than selectors');
        table = tables[selectors[sel++]!]!;
        left = GROUP_SIZE;
      }
      const sym = this.symbol(table);
      if (sym <= 1) {
        // RUNA adds 1, RUNB adds 2, times the run's weight (bijective base 2).
        run += (sym + 1) * runWeight;
        runWeight *= 2;
        if (run > maxBlock) throw bad('a run longer than the block');
        continue;
      }
      flushRun();
      if (sym === eob) break;
      if (n >= maxBlock) throw bad('a block longer than its declared size');
      const index = sym - 1;
      const v = mtf[index]!;
      mtf.copyWithin(1, 0, index);
      mtf[0] = v;
      block[n++] = v;
    }
    if (origPtr >= n) throw bad('the BWT origin is outside the block');
    // Inverse Burrows–Wheeler transform.
    const counts = new Uint32Array(256);
    for (let i = 0; i < n; i++) counts[block[i]!]!++;
    const next = new Uint32Array(n);
    for (let c = 0, sum = 0; c < 256; c++) {
      const k = counts[c]!;
      counts[c] = sum;
      sum += k;
    }
    for (let i = 0; i < n; i++) next[counts[block[i]!]!++] = i;
    // Undo the first run-length stage: four equal bytes are followed by a count of more.
    let p = next[origPtr]!;
    let last = -1;
    let same = 0;
    for (let k = 0; k < n; k++) {
      const b = block[p]!;
      p = next[p]!;
      if (same === 4) {
        for (let r = 0; r < b; r++) this.put(last);
        same = 0;
        last = -1;
        continue;
      }
      if (b === last) same++;
      else {
        last = b;
        same = 1;
      }
      this.put(b);
    }
  }

  private symbol(t: HuffmanTable): number {
    let code = 0;
    for (let len = 1; len <= MAX_CODE_LENGTH; len++) {
      code = (code << 1) | this.bits(1);
      const d = code - t.first[len]!;
      if (d >= 0 && d < t.counts[len]!) return t.symbols[t.offsets[len]! + d]!;
    }
    throw bad('an invalid Huffman code');
  }
}

interface HuffmanTable {
  counts: Uint32Array;
  first: Int32Array;
  offsets: Uint32Array;
  symbols: Uint16Array;
}

/** Canonical Huffman decoding tables: per length, the first code, how many codes, and the symbols in order. */
function huffman(lengths: Uint8Array): HuffmanTable {
  const counts = new Uint32Array(MAX_CODE_LENGTH + 1);
  for (const l of lengths) counts[l]!++;
  const first = new Int32Array(MAX_CODE_LENGTH + 1);
  const offsets = new Uint32Array(MAX_CODE_LENGTH + 1);
  let code = 0;
  let offset = 0;
  for (let len = 1; len <= MAX_CODE_LENGTH; len++) {
    first[len] = code;
    offsets[len] = offset;
    code = (code + counts[len]!) << 1;
    offset += counts[len]!;
  }
  const symbols = new Uint16Array(lengths.length);
  const fill = offsets.slice();
  for (let s = 0; s < lengths.length; s++) symbols[fill[lengths[s]!]!++] = s;
  return { counts, first, offsets, symbols };
}
