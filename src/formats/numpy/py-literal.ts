import { show } from '../scan-rules.js';

/** Nesting of the header literal (structured dtypes nest a few levels): bounds the parser's recursion. */
export const MAX_NPY_LITERAL_DEPTH = 32;
/** Values in the header literal: bounds the parser's work on a hostile header. */
export const MAX_NPY_LITERAL_NODES = 1_000_000;
/** Characters of one integer literal: bounds BigInt work (a shape's dimension needs at most 20 digits; longer ones are refused later as too large). */
const MAX_INT_LITERAL_CHARS = 4096;

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
 * Parses what `ast.literal_eval` (numpy's reader) makes of a header, for the values headers hold: dicts
 * (string keys; a repeated key keeps the last value), tuples, lists, strings ('…', "…", '''…''', u'…',
 * r'…', with escapes; adjacent literals concatenated), integers (decimal, 0x, 0o, 0b, `_`, one sign;
 * a Python 2 `L` suffix allowed), True, False and None, with whitespace, `# comments` and line
 * continuations between tokens. Anything else is an error: nothing is ever evaluated.
 */
export function parsePyLiteral(text: string): PyValue {
  let i = 0;
  let nodes = 0;
  const fail = (msg: string): never => {
    throw new LiteralError(msg, i);
  };
  // Python's whitespace between tokens: blanks, newlines, form feeds, `# comments` to the end of the line, and backslash line continuations.
  const ws = (): void => {
    for (;;) {
      if (i < text.length && ' \t\n\r\f'.includes(text[i]!)) i++;
      else if (text[i] === '#') while (i < text.length && text[i] !== '\n' && text[i] !== '\r') i++;
      else if (text[i] === '\\' && (text[i + 1] === '\n' || text[i + 1] === '\r')) i += 2;
      else return;
    }
  };
  // A string literal starts here: a quote, after a u or r prefix (b'…' is bytes: not a str, so an error).
  const stringPrefix = (): number => {
    const m = /^([uUrR]?)['"]/.exec(text.slice(i, i + 2));
    return m ? m[1]!.length : -1;
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
        // A repeated key: the last value wins, in the first key's place (a Python dict).
        entries.set((k as { value: string }).value, v);
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
    if (stringPrefix() >= 0) {
      // Adjacent string literals are one string ('des' 'cr' is 'descr'), with whitespace or comments between.
      let value = '';
      for (;;) {
        const prefix = stringPrefix();
        const raw = prefix === 1 && (text[i] === 'r' || text[i] === 'R');
        i += prefix;
        value += str(raw);
        const end = i;
        ws();
        if (stringPrefix() < 0) {
          i = end;
          return { kind: 'str', value };
        }
      }
    }
    if (ch === '-' || ch === '+' || (ch >= '0' && ch <= '9')) {
      // Python's integer literals, one sign: decimal, 0x, 0o, 0b, with _ between digits (a Python 2 L suffix too).
      const sign = ch === '-' || ch === '+' ? 1 : 0;
      i += sign;
      ws();
      const m = /^(?:0[xX](?:_?[0-9a-fA-F])+|0[oO](?:_?[0-7])+|0[bB](?:_?[01])+|[1-9](?:_?\d)*|0(?:_?0)*)[lL]?/.exec(text.slice(i, i + MAX_INT_LITERAL_CHARS));
      if (!m) return fail('bad number');
      i += m[0].length;
      if (i < text.length && /[.eEjJ0-9_a-zA-Z]/.test(text[i]!)) fail('only integers are allowed');
      const literal = m[0].replace(/_/g, '').replace(/[lL]$/, '');
      const value = /^0[oO]/.test(literal) ? BigInt(`0o${literal.slice(2)}`) : BigInt(literal);
      return { kind: 'int', value: ch === '-' ? -value : value };
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
  const str = (raw: boolean): string => {
    const q = text[i]!;
    const triple = text.startsWith(q.repeat(3), i);
    i += triple ? 3 : 1;
    let out = '';
    for (;;) {
      const c = text[i];
      if (c === undefined || (!triple && (c === '\n' || c === '\r'))) return fail('unterminated string');
      if (triple ? text.startsWith(q.repeat(3), i) : c === q) {
        i += triple ? 3 : 1;
        return out;
      }
      i++;
      if (c !== '\\') {
        out += c;
        continue;
      }
      const e = text[i];
      if (e === undefined) return fail('unterminated string');
      i++;
      if (raw) {
        out += `\\${e}`; // a raw string keeps the backslash; it only stops the quote ending the string
        continue;
      }
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
