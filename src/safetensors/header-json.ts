import { SafetensorError } from '../errors.js';
import { DTYPES, type Dtype } from '../dtype/dtypes.js';
import { MAX_JSON_DEPTH, U64_MAX } from './limits.js';

/**
 * A strict reader for the safetensors header JSON, accepting exactly what the
 * reference (serde_json into `HashMetadata`) accepts, with one deliberate difference:
 * a duplicate key anywhere is an error. `JSON.parse` cannot be used: it accepts `4.0`,
 * rounds integers past 2^53 and silently keeps the last of two duplicate keys.
 */

/** An unsigned integer from the header: a number when it is a safe integer, a bigint above 2^53 - 1. */
export type Uint = number | bigint;

/** The header as written, before offsets are validated; parallel arrays, one slot per tensor. */
export interface RawHeader {
  /** null when `__metadata__` is absent or `null`. */
  metadata: Map<string, string> | null;
  names: string[];
  dtypes: Dtype[];
  shapes: Uint[][];
  begins: Uint[];
  ends: Uint[];
}

const DTYPE_BY_NAME: ReadonlyMap<string, Dtype> = new Map(DTYPES.map((d) => [d, d]));
const DTYPE_LIST = DTYPES.map((d) => '`' + d + '`').join(', ');
/** Digits of the longest integer literal that is certainly a safe integer. */
const SAFE_DIGITS = 15;

const KNOWN_FIELDS: readonly [string, string][] = ['dtype', 'shape', 'data_offsets'].map((f) => [`"${f}"`, f]);
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const LBRACE = 0x7b;
const RBRACE = 0x7d;
const LBRACKET = 0x5b;
const RBRACKET = 0x5d;
const MINUS = 0x2d;
const ZERO = 0x30;
const NINE = 0x39;

/** Parses header text (already UTF-8 decoded). Throws InvalidHeaderDeserialization. */
export function parseHeaderJson(text: string): RawHeader {
  return new HeaderParser(text).parse();
}

class HeaderParser {
  private i = 0;
  private readonly n: number;

  constructor(private readonly s: string) {
    this.n = s.length;
  }

  parse(): RawHeader {
    const out: RawHeader = { metadata: null, names: [], dtypes: [], shapes: [], begins: [], ends: [] };
    const seen = new Set<string>();
    let sawMetadata = false;
    this.ws();
    const c = this.peek();
    if (c !== LBRACE) {
      if (c === -1) this.fail('EOF while parsing a value');
      if (c === LBRACKET || c === QUOTE || c === MINUS || (c >= ZERO && c <= NINE) || this.isLiteralStart(c)) {
        this.fail(`invalid type: ${this.describeValueAt()}, expected a map of tensors`);
      }
      this.fail('expected value');
    }
    this.i++;
    this.ws();
    if (this.peek() === RBRACE) {
      this.i++;
    } else {
      for (;;) {
        this.ws();
        if (this.peek() !== QUOTE) this.fail('key must be a string');
        const keyAt = this.i;
        const key = this.string();
        this.colon();
        if (key === '__metadata__') {
          if (sawMetadata) this.failAt(keyAt, 'duplicate field `__metadata__`');
          sawMetadata = true;
          out.metadata = this.metadata();
        } else {
          if (seen.has(key)) this.failAt(keyAt, `duplicate tensor name \`${key}\` (the format forbids duplicate keys)`);
          seen.add(key);
          this.tensor(key, out);
        }
        this.ws();
        const d = this.peek();
        if (d === COMMA) {
          this.i++;
          continue;
        }
        if (d === RBRACE) {
          this.i++;
          break;
        }
        this.fail(d === -1 ? 'EOF while parsing an object' : 'expected `,` or `}`');
      }
    }
    this.ws();
    if (this.i < this.n) this.fail('trailing characters');
    return out;
  }

  private metadata(): Map<string, string> | null {
    this.ws();
    const c = this.peek();
    if (c === 0x6e /* n */ && this.s.startsWith('null', this.i)) {
      this.i += 4;
      return null;
    }
    if (c !== LBRACE) this.fail(`invalid type: ${this.describeValueAt()}, expected \`__metadata__\` to be a map of strings`);
    this.i++;
    const map = new Map<string, string>();
    this.ws();
    if (this.peek() === RBRACE) {
      this.i++;
      return map;
    }
    for (;;) {
      this.ws();
      if (this.peek() !== QUOTE) this.fail('key must be a string');
      const keyAt = this.i;
      const key = this.string();
      this.colon();
      this.ws();
      if (this.peek() !== QUOTE) this.fail(`invalid type: ${this.describeValueAt()}, expected a string as the value of metadata key \`${key}\``);
      const value = this.string();
      if (map.has(key)) this.failAt(keyAt, `duplicate metadata key \`${key}\``);
      map.set(key, value);
      this.ws();
      const d = this.peek();
      if (d === COMMA) {
        this.i++;
        continue;
      }
      if (d === RBRACE) {
        this.i++;
        return map;
      }
      this.fail(d === -1 ? 'EOF while parsing an object' : 'expected `,` or `}`');
    }
  }

  private tensor(name: string, out: RawHeader): void {
    this.ws();
    if (this.peek() !== LBRACE) this.fail(`invalid type: ${this.describeValueAt()}, expected struct TensorInfo for tensor \`${name}\``);
    this.i++;
    let dtype: Dtype | undefined;
    let shape: Uint[] | undefined;
    let begin: Uint | undefined;
    let end: Uint | undefined;
    let others: Set<string> | undefined;
    this.ws();
    if (this.peek() === RBRACE) {
      this.i++;
    } else {
      for (;;) {
        this.ws();
        if (this.peek() !== QUOTE) this.fail('key must be a string');
        const keyAt = this.i;
        const field = this.fieldName();
        this.colon();
        this.ws();
        if (field === 'dtype') {
          if (dtype !== undefined) this.failAt(keyAt, `duplicate field \`dtype\` in tensor \`${name}\``);
          dtype = this.dtype(name);
        } else if (field === 'shape') {
          if (shape !== undefined) this.failAt(keyAt, `duplicate field \`shape\` in tensor \`${name}\``);
          shape = this.uintArray(name, 'shape', -1);
        } else if (field === 'data_offsets') {
          if (begin !== undefined) this.failAt(keyAt, `duplicate field \`data_offsets\` in tensor \`${name}\``);
          const offsets = this.uintArray(name, 'data_offsets', 2);
          begin = offsets[0]!;
          end = offsets[1]!;
        } else {
          // Unknown fields are ignored, as by the reference, but must still be valid JSON.
          others ??= new Set();
          if (others.has(field)) this.failAt(keyAt, `duplicate field \`${field}\` in tensor \`${name}\``);
          others.add(field);
          this.skipValue(2);
        }
        this.ws();
        const d = this.peek();
        if (d === COMMA) {
          this.i++;
          continue;
        }
        if (d === RBRACE) {
          this.i++;
          break;
        }
        this.fail(d === -1 ? 'EOF while parsing an object' : 'expected `,` or `}`');
      }
    }
    if (dtype === undefined) this.fail(`missing field \`dtype\` in tensor \`${name}\``);
    if (shape === undefined) this.fail(`missing field \`shape\` in tensor \`${name}\``);
    if (begin === undefined || end === undefined) this.fail(`missing field \`data_offsets\` in tensor \`${name}\``);
    out.names.push(name);
    out.dtypes.push(dtype);
    out.shapes.push(shape);
    out.begins.push(begin);
    out.ends.push(end);
  }

  private dtype(name: string): Dtype {
    if (this.peek() !== QUOTE) this.fail(`invalid type: ${this.describeValueAt()}, expected a dtype name for tensor \`${name}\``);
    const at = this.i;
    const text = this.string();
    const dtype = DTYPE_BY_NAME.get(text);
    if (dtype === undefined) this.failAt(at, `unknown variant \`${text}\` for the dtype of tensor \`${name}\`, expected one of ${DTYPE_LIST}`);
    return dtype;
  }

  /** A JSON array of u64; `arity` -1 for any length. */
  private uintArray(name: string, field: string, arity: number): Uint[] {
    if (this.peek() !== LBRACKET) {
      this.fail(`invalid type: ${this.describeValueAt()}, expected ${arity === 2 ? 'a tuple of size 2' : 'a sequence'} as \`${field}\` of tensor \`${name}\``);
    }
    this.i++;
    const values: Uint[] = [];
    this.ws();
    if (this.peek() === RBRACKET) {
      this.i++;
    } else {
      for (;;) {
        this.ws();
        values.push(this.uint(name, field));
        this.ws();
        const d = this.peek();
        if (d === COMMA) {
          this.i++;
          continue;
        }
        if (d === RBRACKET) {
          this.i++;
          break;
        }
        this.fail(d === -1 ? 'EOF while parsing a list' : 'expected `,` or `]`');
      }
    }
    if (arity >= 0 && values.length !== arity) {
      this.fail(`invalid length ${values.length}, expected a tuple of size ${arity} as \`${field}\` of tensor \`${name}\``);
    }
    return values;
  }

  /** A non-negative integer that fits in u64, written as `0` or `[1-9][0-9]*`. */
  private uint(name: string, field: string): Uint {
    const s = this.s;
    const start = this.i;
    let c = s.charCodeAt(start);
    // Fast path: up to 15 digits with no fraction or exponent is a safe integer read in place.
    if (c > ZERO && c <= NINE) {
      let v = c - ZERO;
      let i = start + 1;
      while (isDigit((c = s.charCodeAt(i)))) {
        v = v * 10 + (c - ZERO);
        i++;
      }
      if (i - start <= SAFE_DIGITS && c !== 0x2e && c !== 0x65 && c !== 0x45) {
        this.i = i;
        return v;
      }
    } else if (c === ZERO) {
      const next = s.charCodeAt(start + 1);
      if (!isDigit(next) && next !== 0x2e && next !== 0x65 && next !== 0x45) {
        this.i = start + 1;
        return 0;
      }
    }
    if (c === MINUS || isDigit(s.charCodeAt(start))) {
      this.i = start;
      const lexeme = this.numberLexeme();
      const where = `in \`${field}\` of tensor \`${name}\``;
      if (lexeme.charCodeAt(0) === MINUS) this.failAt(start, `invalid value: ${lexeme} ${where}, expected a non-negative integer`);
      if (/[.eE]/.test(lexeme)) this.failAt(start, `invalid type: floating point \`${lexeme}\` ${where}, expected an integer`);
      const big = BigInt(lexeme);
      // serde_json reads integers past u64 as floats, which then fail the integer type.
      if (big > U64_MAX) this.failAt(start, `invalid type: floating point \`${lexeme}\` ${where} (larger than 2^64 - 1), expected an integer`);
      return big <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(big) : big;
    }
    this.fail(`invalid type: ${this.describeValueAt()}, expected a non-negative integer in \`${field}\` of tensor \`${name}\``);
  }

  /** Consumes a number with JSON's full grammar and returns its text. */
  private numberLexeme(): string {
    const s = this.s;
    const start = this.i;
    let i = start;
    if (s.charCodeAt(i) === MINUS) i++;
    const first = s.charCodeAt(i);
    if (first === ZERO) {
      i++;
      const next = s.charCodeAt(i);
      if (next >= ZERO && next <= NINE) this.failAt(i, 'invalid number (leading zero)');
    } else if (first > ZERO && first <= NINE) {
      while (isDigit(s.charCodeAt(i))) i++;
    } else {
      this.failAt(i, 'invalid number');
    }
    if (s.charCodeAt(i) === 0x2e /* . */) {
      i++;
      if (!isDigit(s.charCodeAt(i))) this.failAt(i, 'invalid number (no digit after the decimal point)');
      while (isDigit(s.charCodeAt(i))) i++;
    }
    const e = s.charCodeAt(i);
    if (e === 0x65 || e === 0x45) {
      i++;
      const sign = s.charCodeAt(i);
      if (sign === 0x2b || sign === MINUS) i++;
      if (!isDigit(s.charCodeAt(i))) this.failAt(i, 'invalid number (no digit in the exponent)');
      while (isDigit(s.charCodeAt(i))) i++;
    }
    this.i = i;
    return s.slice(start, i);
  }

  /** Skips any JSON value (an ignored field), enforcing the grammar, the depth limit and unique keys. */
  private skipValue(depth: number): void {
    this.ws();
    const c = this.peek();
    if (c === QUOTE) {
      this.string();
    } else if (c === LBRACE || c === LBRACKET) {
      if (depth >= MAX_JSON_DEPTH) this.fail('recursion limit exceeded');
      this.i++;
      const isObject = c === LBRACE;
      const close = isObject ? RBRACE : RBRACKET;
      const keys = isObject ? new Set<string>() : undefined;
      this.ws();
      if (this.peek() === close) {
        this.i++;
        return;
      }
      for (;;) {
        this.ws();
        if (keys) {
          if (this.peek() !== QUOTE) this.fail('key must be a string');
          const keyAt = this.i;
          const key = this.string();
          if (keys.has(key)) this.failAt(keyAt, `duplicate key \`${key}\``);
          keys.add(key);
          this.colon();
        }
        this.skipValue(depth + 1);
        this.ws();
        const d = this.peek();
        if (d === COMMA) {
          this.i++;
          continue;
        }
        if (d === close) {
          this.i++;
          return;
        }
        this.fail(d === -1 ? 'EOF while parsing a value' : isObject ? 'expected `,` or `}`' : 'expected `,` or `]`');
      }
    } else if (c === MINUS || isDigit(c)) {
      const at = this.i;
      // serde_json reads every value of a tensor entry, ignored ones too, and refuses numbers that overflow f64.
      if (!Number.isFinite(Number(this.numberLexeme()))) this.failAt(at, 'number out of range');
    } else if (!this.literal()) {
      this.fail(c === -1 ? 'EOF while parsing a value' : 'expected value');
    }
  }

  private isLiteralStart(c: number): boolean {
    return c === 0x6e || c === 0x74 || c === 0x66; // n t f
  }

  private literal(): boolean {
    for (const word of ['null', 'true', 'false']) {
      if (this.s.startsWith(word, this.i)) {
        this.i += word.length;
        return true;
      }
    }
    return false;
  }

  /** A key of a tensor entry: the three known ones are matched in place, without allocating. */
  private fieldName(): string {
    const s = this.s;
    const i = this.i;
    for (const [quoted, name] of KNOWN_FIELDS) {
      if (s.startsWith(quoted, i)) {
        this.i = i + quoted.length;
        return name;
      }
    }
    return this.string();
  }

  /** A JSON string; the fast path slices the text when there is no escape. */
  private string(): string {
    const s = this.s;
    const n = this.n;
    let i = this.i + 1;
    const start = i;
    for (;;) {
      if (i >= n) this.failAt(i, 'EOF while parsing a string');
      const c = s.charCodeAt(i);
      if (c === QUOTE) {
        this.i = i + 1;
        return s.slice(start, i);
      }
      if (c === BACKSLASH || c < 0x20) break;
      i++;
    }
    const parts: string[] = [s.slice(start, i)];
    let runStart = i;
    for (;;) {
      if (i >= n) this.failAt(i, 'EOF while parsing a string');
      const c = s.charCodeAt(i);
      if (c === QUOTE) {
        parts.push(s.slice(runStart, i));
        this.i = i + 1;
        return parts.join('');
      }
      if (c < 0x20) this.failAt(i, `control character (\\u${c.toString(16).padStart(4, '0')}) found while parsing a string`);
      if (c !== BACKSLASH) {
        i++;
        continue;
      }
      parts.push(s.slice(runStart, i));
      const e = s.charCodeAt(i + 1);
      i += 2;
      switch (e) {
        case QUOTE:
          parts.push('"');
          break;
        case BACKSLASH:
          parts.push('\\');
          break;
        case 0x2f:
          parts.push('/');
          break;
        case 0x62:
          parts.push('\b');
          break;
        case 0x66:
          parts.push('\f');
          break;
        case 0x6e:
          parts.push('\n');
          break;
        case 0x72:
          parts.push('\r');
          break;
        case 0x74:
          parts.push('\t');
          break;
        case 0x75: {
          const unit = this.hex4(i);
          i += 4;
          if (unit >= 0xdc00 && unit <= 0xdfff) this.failAt(i - 6, 'lone trailing surrogate in hex escape');
          if (unit >= 0xd800 && unit <= 0xdbff) {
            if (s.charCodeAt(i) !== BACKSLASH || s.charCodeAt(i + 1) !== 0x75) this.failAt(i - 6, 'lone leading surrogate in hex escape');
            const low = this.hex4(i + 2);
            if (low < 0xdc00 || low > 0xdfff) this.failAt(i, 'lone leading surrogate in hex escape');
            parts.push(String.fromCharCode(unit, low));
            i += 6;
          } else {
            parts.push(String.fromCharCode(unit));
          }
          break;
        }
        default:
          this.failAt(i - 2, i - 1 >= n ? 'EOF while parsing a string' : 'invalid escape');
      }
      runStart = i;
    }
  }

  private hex4(at: number): number {
    let v = 0;
    for (let k = 0; k < 4; k++) {
      const c = this.s.charCodeAt(at + k);
      let d: number;
      if (c >= ZERO && c <= NINE) d = c - ZERO;
      else if (c >= 0x61 && c <= 0x66) d = c - 0x57;
      else if (c >= 0x41 && c <= 0x46) d = c - 0x37;
      else this.failAt(at + k, Number.isNaN(c) ? 'EOF while parsing a string' : 'invalid escape');
      v = v * 16 + d;
    }
    return v;
  }

  private colon(): void {
    this.ws();
    if (this.peek() !== COLON) this.fail(this.peek() === -1 ? 'EOF while parsing an object' : 'expected `:`');
    this.i++;
  }

  /** JSON whitespace only: space, tab, line feed, carriage return. */
  private ws(): void {
    const s = this.s;
    let i = this.i;
    for (;;) {
      const c = s.charCodeAt(i);
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) i++;
      else break;
    }
    this.i = i;
  }

  private peek(): number {
    return this.i < this.n ? this.s.charCodeAt(this.i) : -1;
  }

  private describeValueAt(): string {
    const c = this.peek();
    if (c === QUOTE) return 'string';
    if (c === LBRACKET) return 'sequence';
    if (c === LBRACE) return 'map';
    if (c === MINUS || isDigit(c)) return 'number';
    if (this.s.startsWith('null', this.i)) return 'null';
    if (this.s.startsWith('true', this.i) || this.s.startsWith('false', this.i)) return 'boolean';
    return 'invalid value';
  }

  private fail(message: string): never {
    this.failAt(this.i, message);
  }

  private failAt(at: number, message: string): never {
    const from = Math.max(0, at - 20);
    const context = JSON.stringify(this.s.slice(from, at + 20));
    throw new SafetensorError('InvalidHeaderDeserialization', `invalid JSON in header: ${message} at character ${at + 1} (near ${context})`, {
      location: `header character ${at + 1}`,
    });
  }
}

function isDigit(c: number): boolean {
  return c >= ZERO && c <= NINE;
}
