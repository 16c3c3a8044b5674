import { describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { unpickle } from '../src/formats/pickle/machine.js';
import { BUILTIN_HANDLERS } from '../src/formats/pickle/builtins.js';
import { PickleError } from '../src/formats/pickle/errors.js';
import { describe as describeValue, floatRepr, PyByteArray, PyComplex, PyDict, PyFloat, PyObject, PyOpaque, PySet, PyTuple, type PyValue } from '../src/formats/pickle/values.js';
import { ROOT } from './helpers/paths.js';

/** The Python values of test/fixtures/pickle (written by CPython's pickle, all protocols). */
const dir = path.join(ROOT, 'test', 'fixtures', 'pickle');
const expected = JSON.parse(fs.readFileSync(path.join(dir, 'expected.json'), 'utf8')) as { fixtures: { file: string; protocol: number; value: Tagged }[] };

type Tagged = { t: string; v?: unknown; id?: number; type?: string };

/** Our value in the generator's tagged form (same rules, written independently). */
function tag(v: PyValue, seen = new Map<object, number>()): Tagged {
  if ((Array.isArray(v) || v instanceof PyDict) && seen.has(v)) return { t: 'ref', v: seen.get(v) };
  if (v === null) return { t: 'none' };
  if (typeof v === 'boolean') return { t: 'bool', v };
  if (typeof v === 'number' || typeof v === 'bigint') return { t: 'int', v };
  if (v instanceof PyFloat) return { t: 'float', v: floatRepr(v.value) };
  if (typeof v === 'string') return { t: 'str', v };
  if (v instanceof Uint8Array) return { t: 'bytes', v: Buffer.from(v).toString('hex') };
  if (v instanceof PyByteArray) return { t: 'bytearray', v: Buffer.from(v.bytes).toString('hex') };
  if (v instanceof PyComplex) return { t: 'complex', v: [v.real, v.imag] };
  if (v instanceof PyTuple) return { t: 'tuple', v: v.items.map((x) => tag(x, seen)) };
  if (Array.isArray(v)) {
    seen.set(v, seen.size);
    const id = seen.get(v)!;
    return { t: 'list', id, v: v.map((x) => tag(x, seen)) };
  }
  if (v instanceof PySet) return { t: v.frozen ? 'frozenset' : 'set', v: v.items.map((x) => JSON.stringify(tag(x, seen))).sort() };
  if (v instanceof PyObject && v.cls.qualifiedName === 'argparse.Namespace') {
    const state = v.state as PyDict;
    return { t: 'namespace', v: Object.fromEntries([...state.entries()].map(([k, x]) => [k as string, tag(x, seen)])) };
  }
  if (v instanceof PyDict) {
    seen.set(v, seen.size);
    const id = seen.get(v)!;
    return { t: 'dict', type: v.type, id, v: [...v.entries()].map(([k, x]) => [tag(k, seen), tag(x, seen)]) };
  }
  throw new Error(`unexpected ${String(v)}`);
}

/** Expected numbers as JS values: ints exact, floats by their repr (ints and floats kept apart). */
function normalize(e: Tagged): unknown {
  if (e.t === 'int') {
    const b = BigInt(e.v as string);
    return { t: 'int', v: b >= BigInt(Number.MIN_SAFE_INTEGER) && b <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(b) : b };
  }
  // Floats by Python's repr, which floatRepr reproduces.
  if (e.t === 'complex') return { t: 'complex', v: (e.v as string[]).map(Number) };
  if (e.t === 'set' || e.t === 'frozenset') return { t: e.t, v: (e.v as string[]).map((s) => JSON.stringify(normalize(JSON.parse(s)))).sort() };
  if (e.t === 'tuple' || e.t === 'list') return { ...e, v: (e.v as Tagged[]).map(normalize) };
  if (e.t === 'dict') return { ...e, v: (e.v as Tagged[][]).map(([k, x]) => [normalize(k!), normalize(x!)]) };
  if (e.t === 'namespace') return { t: 'namespace', v: Object.fromEntries(Object.entries(e.v as Record<string, Tagged>).map(([k, x]) => [k, normalize(x)])) };
  return e;
}

describe('pickle machine against CPython-written pickles, protocols 0–5', () => {
  it('has fixtures for every protocol', () => {
    expect(new Set(expected.fixtures.map((f) => f.protocol))).toEqual(new Set([0, 1, 2, 3, 4, 5]));
  });

  it.each(expected.fixtures.map((f) => [f.file, f] as const))('%s', (_name, fixture) => {
    const bytes = fs.readFileSync(path.join(dir, fixture.file));
    const result = unpickle(bytes, { where: fixture.file, handlers: BUILTIN_HANDLERS });
    expect(result.end).toBe(bytes.length);
    expect(tag(result.value)).toEqual(normalize(fixture.value));
  });

  it('keeps shared references shared (memo identity)', () => {
    const bytes = fs.readFileSync(path.join(dir, 'references_p2.pkl'));
    const v = unpickle(bytes, { where: 'r', handlers: BUILTIN_HANDLERS }).value as PyValue[];
    expect(v[0]).toBe(v[1]);
    expect((v[2] as PyDict).get('x')).toBe(v[0]);
  });
});

/** Hand-assembled pickles for the machine's rules. */
const P = (...parts: (string | number[])[]): Uint8Array =>
  Uint8Array.from(parts.flatMap((p) => (typeof p === 'string' ? [...Buffer.from(p, 'latin1')] : p)));

function code(bytes: Uint8Array, skipUnknown = false): string {
  try {
    unpickle(bytes, { where: 't', handlers: BUILTIN_HANDLERS, skipUnknown });
    return 'ok';
  } catch (e) {
    if (e instanceof PickleError) return e.code;
    throw e;
  }
}

describe('pickle machine rules', () => {
  it.each([
    ['os.system via GLOBAL', P('cos\nsystem\n(S"echo"\ntR.'), 'UnsafeGlobal'],
    ['posix.system via STACK_GLOBAL', P([0x80, 4], '\x8c\x05posix\x8c\x06system\x93.'), 'UnsafeGlobal'],
    ['builtins.eval via py2 name', P('c__builtin__\neval\n.'), 'UnsafeGlobal'],
    ['dotted attribute path', P([0x80, 4], '\x8c\x07pathlib\x8c\x09os.system\x93.'), 'UnsafeGlobal'],
    ['submodule of a denied module', P('casyncio.unix_events\n_UnixSubprocessTransport\n.'), 'UnsafeGlobal'],
    ['INST call', P('(S"x"\nios\nsystem\n.'), 'UnsafeGlobal'],
    ['unknown global, strict', P('cmylib\nThing\n.'), 'UnsupportedGlobal'],
    ['unknown global, skip-unknown', P('cmylib\nThing\n)R.'), 'ok'],
    ['dangerous even with skip-unknown', P('csubprocess\nrun\n.'), 'UnsafeGlobal'],
    ['STACK_GLOBAL of non-strings', P([0x80, 4], 'K\x01K\x02\x93.'), 'InvalidPickle'],
    ['SETITEM on a list', P(']K\x01K\x02s.'), 'InvalidPickle'],
    ['APPEND on a dict', P('}K\x01a.'), 'InvalidPickle'],
    ['REDUCE on a non-global', P('K\x01)R.'), 'InvalidPickle'],
    ['missing memo', P('h\x05.'), 'MemoMissing'],
    ['TUPLE without MARK', P([0x80, 4], 't.'), 'MarkMissing'],
    ['pop on empty', P('0.'), 'StackUnderflow'],
    ['no STOP', P('K\x01'), 'PickleTruncated'],
    ['truncated BINUNICODE', P('X\xff\xff\x00\x00ab'), 'PickleTruncated'],
    ['bad opcode', P('\xff.'), 'InvalidOpcode'],
    ['protocol 6', P([0x80, 6], 'N.'), 'UnsupportedProtocol'],
    ['frame straddled by an opcode', P([0x80, 4, 0x95, 2, 0, 0, 0, 0, 0, 0, 0], 'X\x01\x00\x00\x00a.'), 'FrameMismatch'],
    ['frame past the end', P([0x80, 4, 0x95, 100, 0, 0, 0, 0, 0, 0, 0], 'N.'), 'PickleTruncated'],
    ['frame well formed', P([0x80, 4, 0x95, 2, 0, 0, 0, 0, 0, 0, 0], 'N.'), 'ok'],
    ['EXT1', P([0x80, 2, 0x82, 1], '.'), 'UnsupportedGlobal'],
    ['_codecs.encode latin1', P('c_codecs\nencode\n(Vab\nVlatin1\ntR.'), 'ok'],
    ['_codecs.encode other encoding', P('c_codecs\nencode\n(Vab\nVrot13\ntR.'), 'InvalidPickle'],
    ['MARKs nested past the limit', P('('.repeat(10_001), '.'), 'PickleLimit'],
    ['a GLOBAL name with no newline within the limit', P('c', 'x'.repeat(70_000)), 'PickleLimit'],
    ['a LONG4 of 1 MiB', P([0x80, 2, 0x8b, 0, 0, 16, 0]), 'PickleLimit'],
    ['huge BINBYTES8 length', P([0x80, 4, 0x8e, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f], '.'), 'PickleLimit'],
  ])('%s → %s', (_n, bytes, expectedCode) => {
    expect(code(bytes, _n.includes('skip-unknown'))).toBe(expectedCode);
  });

  it('errors name the stream, the byte offset and the global', () => {
    try {
      unpickle(P('K\x01', 'cos\nsystem\n.'), { where: 'archive/data.pkl', handlers: BUILTIN_HANDLERS });
      expect.unreachable();
    } catch (e) {
      expect((e as PickleError).message).toMatch(/^archive\/data\.pkl at byte 2: .*os\.system/);
      expect((e as PickleError).location).toBe('archive/data.pkl@2');
    }
  });

  it('records placeholders for unknown objects with skipUnknown', () => {
    const r = unpickle(P('(cmylib\nThing\n)RK\x01l.'), { where: 'w', handlers: BUILTIN_HANDLERS, skipUnknown: true });
    expect(r.placeholders).toEqual([{ global: 'mylib.Thing', location: 'w@15' }]);
    expect(r.globals).toEqual(new Set(['mylib.Thing']));
  });
});

describe('ints and floats are told apart', () => {
  it('a float is a PyFloat, an int a number, in values and in descriptions', () => {
    // PROTO 2, BINFLOAT 3.0, BININT1 3, BINFLOAT 0.001, TUPLE3, STOP
    const f = (x: number): number[] => [0x47, ...Buffer.from(new Float64Array([x]).buffer).reverse()];
    const v = unpickle(P([0x80, 2], f(3), 'K\x03', f(0.001), [0x87], '.'), { where: 'n', handlers: BUILTIN_HANDLERS }).value as PyTuple;
    expect(v.items[0]).toEqual(new PyFloat(3));
    expect(v.items[1]).toBe(3);
    expect(v.items.map((x) => describeValue(x))).toEqual(['float 3.0', 'int 3', 'float 0.001']);
  });

  it.each([
    [3, '3.0'], [0.001, '0.001'], [1e-5, '1e-05'], [0.0001, '0.0001'], [1e16, '1e+16'], [123456789012345.6, '123456789012345.6'],
    [-2.5, '-2.5'], [0.1 + 0.2, '0.30000000000000004'], [NaN, 'nan'], [-Infinity, '-inf'], [-0, '-0.0'], [5e-324, '5e-324'], [1.5e300, '1.5e+300'],
  ])('floatRepr(%s) is %s', (x, repr) => {
    expect(floatRepr(x)).toBe(repr);
  });
});

describe('adopting unknown classes used only as records (whole-model pickles)', () => {
  const records = { accepts: (s: PyValue) => s instanceof PyDict && s.get('_parameters') === 1, what: 'record' };
  const S = '}U\x0b_parametersK\x01s'; // {'_parameters': 1}: a state records accept
  const run = (bytes: Uint8Array, skipUnknown = false) => unpickle(bytes, { where: 'a', handlers: BUILTIN_HANDLERS, adoptClasses: records, skipUnknown });
  const refusal = (bytes: Uint8Array): string => {
    try {
      run(bytes);
      return 'ok';
    } catch (e) {
      return `${(e as PickleError).code}: ${(e as PickleError).message}`;
    }
  };

  it.each([
    ['NEWOBJ + BUILD', P([0x80, 2], 'cmylib\nM\n)\x81', S, 'b.')],
    ['REDUCE with no arguments + BUILD', P([0x80, 2], 'cmylib\nM\n)R', S, 'b.')],
    ['copyreg._reconstructor(cls, object, None) + BUILD (protocols 0 and 1)', P('ccopy_reg\n_reconstructor\n(cmylib\nM\nc__builtin__\nobject\nNtR', S, 'b.')],
    ['two instances, the class through the memo', P([0x80, 2], '(cmylib\nM\nq\x00)\x81', S, 'bh\x00)\x81', S, 'bl.')],
  ])('adopts a class used only to make records: %s', (_n, bytes) => {
    const r = run(bytes);
    expect(r.adopted).toEqual(['mylib.M']);
    expect(r.placeholders).toEqual([]);
    const first = (r.value instanceof PyOpaque ? r.value : (r.value as PyValue[])[0]) as PyOpaque;
    expect(first).toBeInstanceOf(PyOpaque);
    expect((first.state as PyDict).get('_parameters')).toBe(1);
  });

  it.each([
    ['the class as a value', P([0x80, 2], 'cmylib\nM\n.'), /used as a value/],
    ['the class beside an instance', P([0x80, 2], 'cmylib\nM\nq\x00h\x00)\x81', S, 'b\x86.'), /used as a value/],
    ['instantiated with arguments', P([0x80, 2], 'cmylib\nM\nK\x01\x85\x81', S, 'b.'), /NEWOBJ passes it 1 argument at byte 14/],
    ['never built', P([0x80, 2], 'cmylib\nM\n)\x81.'), /never gets its state/],
    ['another state', P([0x80, 2], 'cmylib\nM\n)\x81}b.'), /a state that is not that of a record \(dict\(0\)\)/],
    ['built twice', P([0x80, 2], 'cmylib\nM\n)\x81', S, 'b', S, 'b.'), /second BUILD/],
    ['given items', P([0x80, 2], 'cmylib\nM\n)\x81', S, 'bK\x01K\x02s.'), /given items \(SETITEM\)/],
    ['an instance called', P([0x80, 2], 'cmylib\nM\n)\x81', S, 'b)R.'), /an instance is called/],
    ['its state changed after BUILD', P([0x80, 2], 'cmylib\nM\n)\x81}q\x00U\x0b_parametersK\x01sbh\x00U\x0b_parametersK\x02s\x86.'), /no longer that of a record/],
  ])('refuses a class otherwise used: %s', (_n, bytes, why) => {
    const message = refusal(bytes);
    // Refused at the byte that first names the class, saying how it was used.
    expect(message).toMatch(/^UnsupportedGlobal: a at byte 2: the pickle names mylib\.M, .*not read as a record either: /);
    expect(message).toMatch(why);
    expect(message).toMatch(/--skip-unknown/);
  });

  it('adopts a class a persistent id resolves to (the legacy format\'s (\'module\', cls, file, source))', () => {
    const bytes = P([0x80, 2], '(U\x06modulecmylib\nM\nU\x01fU\x01stq\x00Q)\x81', S, 'bh\x00Q)\x81', S, 'b\x86.');
    const persistentLoad = (pid: PyValue): PyValue => (pid as PyTuple).items[1]!;
    const r = unpickle(bytes, { where: 'a', handlers: BUILTIN_HANDLERS, adoptClasses: records, persistentLoad });
    expect(r.adopted).toEqual(['mylib.M']);
    expect((r.value as PyTuple).items.every((x) => x instanceof PyOpaque && x.state instanceof PyDict)).toBe(true);
  });

  it('keeps a refused class as a placeholder with skipUnknown', () => {
    const r = run(P([0x80, 2], 'cmylib\nM\n)\x81}b.'), true);
    expect(r.adopted).toEqual([]);
    expect(r.placeholders).toEqual([{ global: 'mylib.M', location: 'a@12' }]);
  });

  it('never adopts a dangerous global', () => {
    expect(refusal(P([0x80, 2], 'cos\nsystem\n)\x81', S, 'b.'))).toMatch(/^UnsafeGlobal/);
  });

  it('without adoptClasses an unknown class is refused where it is named, as before', () => {
    expect(code(P([0x80, 2], 'cmylib\nM\n)\x81', S, 'b.'))).toBe('UnsupportedGlobal');
  });
});
