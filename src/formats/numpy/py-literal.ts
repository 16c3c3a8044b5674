import { show } from '../scan-rules.js';

/** Nesting of the header literal (structured dtypes nest a few levels): bounds the parser's recursion. */
export const MAX_NPY_LITERAL_DEPTH = 32;
/** Values in the header literal: bounds the parser's work on a hostile header. */
export const MAX_NPY_LITERAL_NODES = 1_000_000;

/** A strict Python literal parser: the subset numpy .npy headers use. Nothing is ever evaluated. */

export type PyValue =
  | { kind: 'dict'; entries: Map<string, PyValue> }
  | { kind: 'tuple'; items: PyValue[] }
  | { kind: 'list'; items: PyValue[] }
  | { kind: 'str'; value: string }
  | { kind: 'int'; value: bigint }
  | { kind: 'bool'; value: boolean }
  | { kind: 'none' };

/** Internal control flow (not a TensorsafeError): the header readers turn it into a FormatProblem, which never escapes a scanner or a reader. */
export class LiteralError extends Error {
  constructor(
    message: string,
    readonly index: number,
  ) {
    super(message);
  }
}

/**
 * Parses dicts (string keys), tuples, lists, strings ('…', "…", u'…', with escapes), integers
 * (Python 2 `L` suffix allowed), True, False and None, with leading and trailing whitespace.
 * Anything else is an error: nothing is ever evaluated.
 */
export function parsePyLiteral(text: string): PyValue {
  let i = 0;
  let nodes = 0;
  const fail = (msg: string): never => {
    throw new LiteralError(msg, i);
  };
  const ws = (): void => {
    while (i < text.length && ' \t\n\r'.includes(text[i]!)) i++;
  };
  const value = (depth: number): PyValue => {
    if (depth > MAX_NPY_LITERAL_DEPTH) fail('nested too deeply');
    if (++nodes > MAX_NPY_LITERAL_NODES) fail('too many values');
    ws();
    const ch = text[i];
    if (ch === undefined) return fail('unexpected end');
    if (ch === '{') {
      i++;
      const entries = new Map<string, PyValue>();
      for (;;) {
        ws();
        if (text[i] === '}') {
          i++;
          return { kind: 'dict', entries };
        }
        const k = value(depth + 1);
        if (k.kind !== 'str') fail('a dict key is not a string');
        ws();
        if (text[i] !== ':') fail("expected ':'");
        i++;
        const v = value(depth + 1);
        const key = (k as { value: string }).value;
        if (entries.has(key)) fail(`duplicate key ${show(key)}`);
        entries.set(key, v);
        ws();
        if (text[i] === ',') i++;
        else if (text[i] !== '}') fail("expected ',' or '}'");
      }
    }
    if (ch === '(' || ch === '[') {
      const close = ch === '(' ? ')' : ']';
      i++;
      const items: PyValue[] = [];
      let comma = false;
      for (;;) {
        ws();
        if (text[i] === close) {
          i++;
          // (x) is x itself in Python; (x,) and () are tuples.
          if (close === ')' && items.length === 1 && !comma) return items[0]!;
          return close === ')' ? { kind: 'tuple', items } : { kind: 'list', items };
        }
        items.push(value(depth + 1));
        ws();
        comma = false;
        if (text[i] === ',') {
          i++;
          comma = true;
        } else if (text[i] !== close) fail(`expected ',' or '${close}'`);
      }
    }
    if (ch === "'" || ch === '"' || ((ch === 'u' || ch === 'U') && (text[i + 1] === "'" || text[i + 1] === '"'))) {
      if (ch === 'u' || ch === 'U') i++;
      return { kind: 'str', value: str() };
    }
    if (ch === '-' || ch === '+' || (ch >= '0' && ch <= '9')) {
      const m = /^[-+]?\s*(\d+)[lL]?/.exec(text.slice(i, i + 64));
      if (!m) return fail('bad number');
      const digits = m[1]!;
      if (digits.length > 1 && digits.startsWith('0')) fail('a number with leading zeros');
      const neg = ch === '-';
      i += m[0].length;
      if (i < text.length && /[.eExXoObBjJ0-9_]/.test(text[i]!)) fail('only decimal integers are allowed');
      return { kind: 'int', value: neg ? -BigInt(digits) : BigInt(digits) };
    }
    for (const [word, v] of [
      ['True', { kind: 'bool', value: true }],
      ['False', { kind: 'bool', value: false }],
      ['None', { kind: 'none' }],
    ] as const) {
      if (text.startsWith(word, i) && !/[A-Za-z0-9_]/.test(text[i + word.length] ?? '')) {
        i += word.length;
        return v;
      }
    }
    return fail(`unexpected ${show(ch)}`);
  };
  const str = (): string => {
    const q = text[i]!;
    i++;
    let out = '';
    for (;;) {
      const c = text[i];
      if (c === undefined || c === '\n') return fail('unterminated string');
      i++;
      if (c === q) return out;
      if (c !== '\\') {
        out += c;
        continue;
      }
      const e = text[i];
      if (e === undefined) return fail('unterminated string');
      i++;
      const simple: Record<string, string> = { '\\': '\\', "'": "'", '"': '"', n: '\n', t: '\t', r: '\r', '0': '\0', a: '\x07', b: '\b', f: '\f', v: '\v', '\n': '' };
      if (e in simple) out += simple[e];
      else if (e === 'x' || e === 'u' || e === 'U') {
        const len = e === 'x' ? 2 : e === 'u' ? 4 : 8;
        const hex = text.slice(i, i + len);
        if (!new RegExp(`^[0-9a-fA-F]{${len}}$`).test(hex)) fail(`bad \\${e} escape`);
        const cp = parseInt(hex, 16);
        if (cp > 0x10ffff) fail('escape beyond Unicode');
        out += String.fromCodePoint(cp);
        i += len;
      } else out += `\\${e}`; // Python keeps unknown escapes as they are
    }
  };
  const v = value(0);
  ws();
  if (i !== text.length) fail('text after the value');
  return v;
}


/** Characters of a value written back as Python text (a structured descr in messages): the rest is cut. */
export const MAX_PY_REPR_CHARS = 200;

/** A parsed value as Python writes it (`[('a', '<i4'), ('b', '|O')]`), cut after `max` characters. */
export function pyRepr(v: PyValue, max = MAX_PY_REPR_CHARS): string {
  let out = '';
  const put = (t: string): boolean => {
    out += t;
    return out.length <= max;
  };
  const walk = (x: PyValue): boolean => {
    switch (x.kind) {
      case 'str':
        return put(`'${x.value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`);
      case 'int':
        return put(String(x.value));
      case 'bool':
        return put(x.value ? 'True' : 'False');
      case 'none':
        return put('None');
      case 'dict': {
        if (!put('{')) return false;
        let first = true;
        for (const [k, val] of x.entries) {
          if (!first && !put(', ')) return false;
          first = false;
          if (!walk({ kind: 'str', value: k }) || !put(': ') || !walk(val)) return false;
        }
        return put('}');
      }
      case 'tuple':
      case 'list': {
        const [open, close] = x.kind === 'tuple' ? ['(', ')'] : ['[', ']'];
        if (!put(open)) return false;
        for (let i = 0; i < x.items.length; i++) if ((i > 0 && !put(', ')) || !walk(x.items[i]!)) return false;
        return put(x.kind === 'tuple' && x.items.length === 1 ? ',)' : close);
      }
    }
  };
  return walk(v) ? out : `${out.slice(0, max)}…`;
}
