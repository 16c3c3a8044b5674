import type { GlobalHandler } from './machine.js';
import { describe, isStr, PyByteArray, PyComplex, PyDict, PyFloat, PyGlobal, PyObject, PySet, sequenceItems, type PyValue } from './values.js';

/**
 * What the Python standard-library and numpy globals of the allowlist build, as data.
 * torch's own globals are added by formats/torch.
 */

type Ctx = Parameters<NonNullable<GlobalHandler['call']>>[1];

const dictOf = (type: string): GlobalHandler => {
  const make = (args: readonly PyValue[], ctx: Ctx): PyValue => {
    const d = new PyDict(type);
    // OrderedDict(pairs) / Counter(mapping) / defaultdict(factory): only the first two fill the dict.
    const init = type === 'collections.defaultdict' ? args[1] : args[0];
    if (init instanceof PyDict) for (const [k, v] of init.entries()) d.set(k, v);
    else if (init !== undefined && init !== null) {
      const pairs = sequenceItems(init);
      if (!pairs) ctx.fail('InvalidPickle', `${type} built from ${describe(init)}`);
      for (const p of pairs) {
        const kv = sequenceItems(p);
        if (!kv || kv.length !== 2) ctx.fail('InvalidPickle', `${type} built from an item that is not a pair`);
        d.set(kv[0]!, kv[1]!);
      }
    }
    return d;
  };
  return { call: make, newobj: (args, _kwargs, ctx) => make(args, ctx) };
};

const setOf = (frozen: boolean): GlobalHandler => ({
  call(args, ctx) {
    if (args.length === 0) return new PySet([], frozen);
    const first = args[0];
    const items = first instanceof PySet ? first.items : sequenceItems(first);
    if (!items) return ctx.fail('InvalidPickle', `set built from ${describe(first)}`);
    return new PySet([...items], frozen);
  },
});

/** `bytes()`, `bytes([ints])`, `bytes(str, encoding)`, `bytearray(...)`, `_codecs.encode(str, 'latin1')`. */
function toBytes(args: readonly PyValue[], ctx: Ctx, what: string): Uint8Array {
  const [x, encoding] = args;
  if (x === undefined) return new Uint8Array(0);
  // Bytes are immutable (CPython's bytes(b) is b): the same view, never a copy made per call.
  if (x instanceof Uint8Array) return x;
  if (isStr(x)) {
    const enc = typeof encoding === 'string' ? encoding.toLowerCase().replace(/[-_]/g, '') : undefined;
    if (enc === 'latin1' || enc === 'iso88591') {
      const out = new Uint8Array(x.length);
      for (let i = 0; i < x.length; i++) {
        const c = x.charCodeAt(i);
        if (c > 0xff) ctx.fail('InvalidPickle', `${what}: character U+${c.toString(16)} has no latin-1 encoding`);
        out[i] = c;
      }
      return out;
    }
    if (enc === 'utf8') return new TextEncoder().encode(x);
    ctx.fail('InvalidPickle', `${what} with encoding ${describe(encoding)} (only latin-1 and utf-8 are reproduced)`);
  }
  const items = sequenceItems(x);
  if (items && items.every((v) => typeof v === 'number' && Number.isInteger(v) && v >= 0 && v < 256)) return Uint8Array.from(items as number[]);
  ctx.fail('InvalidPickle', `${what} of ${describe(x)}`);
}

/** An int or a float as a JS number (complex() takes either). */
function realOf(v: PyValue): number | undefined {
  if (v instanceof PyFloat) return v.value;
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  return undefined;
}

/** A plain instance: the class, its arguments, state set later by BUILD. */
const instance = (module: string, name: string): GlobalHandler => {
  const make = (args: readonly PyValue[]): PyValue => new PyObject(new PyGlobal(module, name), args);
  return { call: make, newobj: make };
};

export const BUILTIN_HANDLERS: ReadonlyMap<string, GlobalHandler> = new Map<string, GlobalHandler>([
  ['collections.OrderedDict', dictOf('collections.OrderedDict')],
  ['collections.defaultdict', dictOf('collections.defaultdict')],
  ['collections.Counter', dictOf('collections.Counter')],
  ['builtins.set', setOf(false)],
  ['builtins.frozenset', setOf(true)],
  ['builtins.bytes', { call: (args, ctx) => toBytes(args, ctx, 'bytes()') }],
  ['builtins.bytearray', { call: (args, ctx) => new PyByteArray(toBytes(args, ctx, 'bytearray()')) }],
  ['_codecs.encode', { call: (args, ctx) => toBytes(args, ctx, '_codecs.encode') }],
  [
    'builtins.complex',
    {
      call(args, ctx) {
        const re = realOf(args[0] ?? 0);
        const im = realOf(args[1] ?? 0);
        if (re === undefined || im === undefined) return ctx.fail('InvalidPickle', 'complex() of non-numbers');
        return new PyComplex(re, im);
      },
    },
  ],
  ['builtins.slice', instance('builtins', 'slice')],
  [
    'copyreg._reconstructor',
    {
      // copyreg._reconstructor(cls, object, None): protocol 0/1 instances of plain classes.
      call(args, ctx) {
        const [cls, base, state] = args;
        if (!(cls instanceof PyGlobal) || !(base instanceof PyGlobal) || base.qualifiedName !== 'builtins.object' || (state !== null && state !== undefined)) {
          return ctx.fail('InvalidPickle', 'copyreg._reconstructor is only reproduced as _reconstructor(cls, object, None)');
        }
        const handler = BUILTIN_HANDLERS.get(cls.qualifiedName);
        return handler?.newobj ? handler.newobj([], undefined, ctx) : new PyObject(cls, []);
      },
    },
  ],
  ['argparse.Namespace', instance('argparse', 'Namespace')],
  ...['Path', 'PosixPath', 'WindowsPath', 'PurePosixPath', 'PureWindowsPath'].map((n): [string, GlobalHandler] => [`pathlib.${n}`, instance('pathlib', n)]),
  ...['PosixPath', 'WindowsPath'].map((n): [string, GlobalHandler] => [`pathlib._local.${n}`, instance('pathlib._local', n)]),
  ...['numpy.core.multiarray', 'numpy._core.multiarray'].flatMap((m): [string, GlobalHandler][] => [
    [`${m}.scalar`, instance(m, 'scalar')],
    [`${m}._reconstruct`, instance(m, '_reconstruct')],
  ]),
  ['numpy.dtype', instance('numpy', 'dtype')],
  ['numpy.ndarray', instance('numpy', 'ndarray')],
]);

