import { InflateProblem } from './inflate-problem.js';

/**
 * LZMA (zip method 14, APPNOTE 5.8.8): a 4-byte zip LZMA header (version, properties size), the 5
 * properties bytes (lc/lp/pb and the dictionary size), then a raw LZMA1 stream, decoded here after the
 * LZMA specification's reference decoder. Output stops at `expectedSize` bytes (zip bombs); an end
 * marker before that, or undecodable data, is an InflateProblem. Python's zipfile (np.load of an .npz)
 * reads such entries; torch's miniz does not.
 */
export function decodeZipLzma(data: Uint8Array, expectedSize: number): Uint8Array {
  return zipLzmaDecoder(data, expectedSize).decode();
}

/** The decoder of a zip LZMA member: `decode()` stops at `maxSize` bytes; `produced()` is what it decoded, also after an InflateProblem. */
export function zipLzmaDecoder(data: Uint8Array, maxSize: number): { decode(): Uint8Array; produced(): Uint8Array } {
  if (data.length < 9) throw bad('the LZMA header is truncated');
  const propsSize = data[2]! | (data[3]! << 8);
  if (propsSize !== 5) throw bad(`the LZMA properties are ${propsSize} bytes, not 5`);
  let d = data[4]!;
  if (d >= 9 * 5 * 5) throw bad('invalid LZMA properties');
  const lc = d % 9;
  d = (d / 9) | 0;
  const lp = d % 5;
  const pb = (d / 5) | 0;
  const dictSize = Math.max(MIN_DICT_SIZE, new DataView(data.buffer, data.byteOffset + 5, 4).getUint32(0, true));
  return new LzmaDecoder(data, 9, lc, lp, pb, dictSize, maxSize);
}

const MIN_DICT_SIZE = 1 << 12;
const PROB_BITS = 11;
const PROB_INIT = 1 << (PROB_BITS - 1);
const MOVE_BITS = 5;
const NUM_STATES = 12;
const POS_BITS_MAX = 4;
const LEN_TO_POS_STATES = 4;
const END_POS_MODEL_INDEX = 14;
const FULL_DISTANCES = 1 << (END_POS_MODEL_INDEX >> 1);
const ALIGN_BITS = 4;
const MATCH_MIN_LEN = 2;

function bad(message: string): InflateProblem {
  return new InflateProblem('BadDeflate', `invalid LZMA data (${message})`);
}

const probs = (n: number): Uint16Array => new Uint16Array(n).fill(PROB_INIT);

class LenDecoder {
  choice = probs(2);
  low = probs(16 << 3);
  mid = probs(16 << 3);
  high = probs(1 << 8);
}

class LzmaDecoder {
  private range = 0xffffffff;
  private code = 0;
  private out: Uint8Array;
  private pos = 0;
  private readonly literal: Uint16Array;
  private readonly posSlot = probs(LEN_TO_POS_STATES << 6);
  private readonly posDecoders = probs(1 + FULL_DISTANCES - END_POS_MODEL_INDEX);
  private readonly align = probs(1 << ALIGN_BITS);
  private readonly isMatch = probs(NUM_STATES << POS_BITS_MAX);
  private readonly isRep = probs(NUM_STATES);
  private readonly isRepG0 = probs(NUM_STATES);
  private readonly isRepG1 = probs(NUM_STATES);
  private readonly isRepG2 = probs(NUM_STATES);
  private readonly isRep0Long = probs(NUM_STATES << POS_BITS_MAX);
  private readonly len = new LenDecoder();
  private readonly repLen = new LenDecoder();

  constructor(
    private readonly input: Uint8Array,
    private at: number,
    private readonly lc: number,
    private readonly lp: number,
    private readonly pb: number,
    private readonly dictSize: number,
    private readonly size: number,
  ) {
    // Grown as needed: a declared size is a claim, not a reason to allocate it.
    this.out = new Uint8Array(Math.min(size, Math.max(1 << 16, input.length * 8)));
    this.literal = probs(0x300 << (lc + lp));
    if (this.next() !== 0) throw bad('the range coder does not start with 0');
    for (let i = 0; i < 4; i++) this.code = ((this.code << 8) | this.next()) >>> 0;
    if (this.code === this.range) throw bad('corrupted range coder state');
  }

  private next(): number {
    if (this.at >= this.input.length) throw bad('the stream ends early');
    return this.input[this.at++]!;
  }

  private normalize(): void {
    if (this.range < 1 << 24) {
      this.range = (this.range << 8) >>> 0;
      this.code = ((this.code << 8) | this.next()) >>> 0;
    }
  }

  private bit(p: Uint16Array, i: number): number {
    const v = p[i]!;
    const bound = (this.range >>> PROB_BITS) * v;
    let symbol: number;
    if (this.code < bound) {
      p[i] = v + (((1 << PROB_BITS) - v) >>> MOVE_BITS);
      this.range = bound >>> 0;
      symbol = 0;
    } else {
      p[i] = v - (v >>> MOVE_BITS);
      this.code = (this.code - bound) >>> 0;
      this.range = (this.range - bound) >>> 0;
      symbol = 1;
    }
    this.normalize();
    return symbol;
  }

  private directBits(n: number): number {
    let res = 0;
    for (let i = 0; i < n; i++) {
      this.range >>>= 1;
      this.code = (this.code - this.range) >>> 0;
      const t = 0 - (this.code >>> 31);
      this.code = (this.code + (this.range & t)) >>> 0;
      if (this.code === this.range) throw bad('corrupted direct bits');
      this.normalize();
      res = ((res << 1) + t + 1) >>> 0;
    }
    return res;
  }

  private tree(p: Uint16Array, offset: number, bits: number): number {
    let m = 1;
    for (let i = 0; i < bits; i++) m = (m << 1) + this.bit(p, offset + m);
    return m - (1 << bits);
  }

  private reverse(p: Uint16Array, offset: number, bits: number): number {
    let m = 1;
    let symbol = 0;
    for (let i = 0; i < bits; i++) {
      const b = this.bit(p, offset + m);
      m = (m << 1) + b;
      symbol |= b << i;
    }
    return symbol;
  }

  private length(l: LenDecoder, posState: number): number {
    if (this.bit(l.choice, 0) === 0) return this.tree(l.low, posState << 3, 3);
    if (this.bit(l.choice, 1) === 0) return 8 + this.tree(l.mid, posState << 3, 3);
    return 16 + this.tree(l.high, 0, 8);
  }

  private distance(len: number): number {
    const lenState = Math.min(len, LEN_TO_POS_STATES - 1);
    const slot = this.tree(this.posSlot, lenState << 6, 6);
    if (slot < 4) return slot;
    const direct = (slot >>> 1) - 1;
    let dist = ((2 | (slot & 1)) << direct) >>> 0;
    if (slot < END_POS_MODEL_INDEX) return (dist + this.reverse(this.posDecoders, dist - slot, direct)) >>> 0;
    dist = (dist + ((this.directBits(direct - ALIGN_BITS) << ALIGN_BITS) >>> 0)) >>> 0;
    return (dist + this.reverse(this.align, 0, ALIGN_BITS)) >>> 0;
  }

  /** Room for `n` more bytes. */
  private room(n: number): void {
    if (this.pos + n <= this.out.length) return;
    const grown = new Uint8Array(Math.min(this.size, Math.max(this.pos + n, this.out.length * 2)));
    grown.set(this.out.subarray(0, this.pos));
    this.out = grown;
  }

  private literalByte(state: number, rep0: number): void {
    const prev = this.pos > 0 ? this.out[this.pos - 1]! : 0;
    const litState = ((this.pos & ((1 << this.lp) - 1)) << this.lc) + (prev >>> (8 - this.lc));
    const base = 0x300 * litState;
    let symbol = 1;
    if (state >= 7) {
      let match = this.out[this.pos - rep0 - 1]!;
      do {
        const matchBit = (match >>> 7) & 1;
        match <<= 1;
        const b = this.bit(this.literal, base + ((1 + matchBit) << 8) + symbol);
        symbol = (symbol << 1) | b;
        if (matchBit !== b) break;
      } while (symbol < 0x100);
    }
    while (symbol < 0x100) symbol = (symbol << 1) | this.bit(this.literal, base + symbol);
    this.room(1);
    this.out[this.pos++] = symbol - 0x100;
  }

  /** The bytes decoded so far (all of them once decode() returned; what came before the failure when it threw). */
  produced(): Uint8Array {
    return this.out.subarray(0, this.pos);
  }

  decode(): Uint8Array {
    let [rep0, rep1, rep2, rep3, state] = [0, 0, 0, 0, 0];
    while (this.pos < this.size) {
      const posState = this.pos & ((1 << this.pb) - 1);
      if (this.bit(this.isMatch, (state << POS_BITS_MAX) + posState) === 0) {
        this.literalByte(state, rep0);
        state = state < 4 ? 0 : state < 10 ? state - 3 : state - 6;
        continue;
      }
      let len: number;
      if (this.bit(this.isRep, state) !== 0) {
        if (this.pos === 0) throw bad('a repeated match before any output');
        if (this.bit(this.isRepG0, state) === 0) {
          if (this.bit(this.isRep0Long, (state << POS_BITS_MAX) + posState) === 0) {
            state = state < 7 ? 9 : 11;
            this.room(1);
            this.out[this.pos] = this.out[this.pos - rep0 - 1]!;
            this.pos++;
            continue;
          }
        } else {
          let dist: number;
          if (this.bit(this.isRepG1, state) === 0) dist = rep1;
          else {
            if (this.bit(this.isRepG2, state) === 0) dist = rep2;
            else {
              dist = rep3;
              rep3 = rep2;
            }
            rep2 = rep1;
          }
          rep1 = rep0;
          rep0 = dist;
        }
        len = this.length(this.repLen, posState);
        state = state < 7 ? 8 : 11;
      } else {
        rep3 = rep2;
        rep2 = rep1;
        rep1 = rep0;
        len = this.length(this.len, posState);
        state = state < 7 ? 7 : 10;
        rep0 = this.distance(len);
        if (rep0 === 0xffffffff) throw new InflateProblem('TooShort', `the LZMA data ends (end marker) after ${this.pos} bytes, not the declared ${this.size}`);
        if (rep0 >= this.dictSize || rep0 >= this.pos) throw bad(`a match distance of ${rep0 + 1} at byte ${this.pos}`);
      }
      // Python's zipfile keeps the declared size and drops the rest.
      len = Math.min(len + MATCH_MIN_LEN, this.size - this.pos);
      this.room(len);
      const out = this.out;
      for (let i = 0; i < len; i++, this.pos++) out[this.pos] = out[this.pos - rep0 - 1]!;
    }
    return this.out.length === this.pos ? this.out : this.out.subarray(0, this.pos);
  }
}
