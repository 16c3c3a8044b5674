/**
 * The Python values a data-only pickle machine builds. Nothing here can run: a class or a
 * function named by the pickle is only ever a `PyGlobal` (a name), and what "calling" it
 * produces is whatever its registered handler builds as data, or an inert placeholder.
 */

/** None, bool, int (number when safe, bigint otherwise), float (PyFloat), str, bytes, and objects below. */
export type PyValue =
  | null
  | boolean
  | number
  | bigint
  | PyFloat
  | string
  | Uint8Array
  | PyValue[]
  | PyTuple
  | PyDict
  | PySet
  | PyGlobal
  | PyObject
  | PyOpaque
  | PyByteArray
  | PyComplex
  | PyExtension;

/** A Python float: kept apart from ints, which are JS numbers (`3.0` is not `3`). */
export class PyFloat {
  constructor(readonly value: number) {}
}

/** A tuple: immutable, unlike a list (a JS array). */
export class PyTuple {
  constructor(readonly items: readonly PyValue[]) {}
}

/** A dict or a dict subclass (OrderedDict, defaultdict, Counter); keys keep insertion order. */
export class PyDict {
  private readonly map = new Map<unknown, [PyValue, PyValue]>();
  /** Attributes set by BUILD (OrderedDict's `_metadata`, say). */
  attributes: PyDict | undefined;

  /** `type` names the class: `dict`, `collections.OrderedDict`, … */
  constructor(readonly type = 'dict') {}

  set(key: PyValue, value: PyValue): void {
    this.map.set(dictKey(key), [key, value]);
  }

  get(key: PyValue): PyValue | undefined {
    return this.map.get(dictKey(key))?.[1];
  }

  has(key: PyValue): boolean {
    return this.map.has(dictKey(key));
  }

  get size(): number {
    return this.map.size;
  }

  *entries(): IterableIterator<[PyValue, PyValue]> {
    for (const e of this.map.values()) yield e;
  }

  keys(): PyValue[] {
    return [...this.map.values()].map((e) => e[0]);
  }
}

/** Identity of a dict key: primitives by value, tuples by content, everything else by reference. */
function dictKey(key: PyValue): unknown {
  if (key instanceof PyTuple) return 'tuple:' + key.items.map((k) => describeKey(k)).join('\u0000');
  // Python: 1.0 == 1 and hash(1.0) == hash(1), so an integral float is the same key as the int.
  if (key instanceof PyFloat) return key.value;
  if (typeof key === 'number' || typeof key === 'bigint') return typeof key === 'bigint' && key >= -(2n ** 53n) && key <= 2n ** 53n ? Number(key) : key;
  if (key instanceof Uint8Array) return 'bytes:' + Array.from(key).join(',');
  return key;
}

function describeKey(k: PyValue): string {
  if (k === null) return 'None';
  if (typeof k === 'string') return 's' + k;
  if (typeof k === 'number' || typeof k === 'bigint' || typeof k === 'boolean') return 'n' + String(k);
  if (k instanceof PyFloat) return 'n' + String(k.value);
  if (k instanceof PyTuple) return '(' + k.items.map(describeKey).join(',') + ')';
  return '?' + Object.prototype.toString.call(k);
}

export class PySet {
  constructor(
    readonly items: PyValue[],
    readonly frozen: boolean,
  ) {}
}

export class PyByteArray {
  constructor(readonly bytes: Uint8Array) {}
}

export class PyComplex {
  constructor(
    readonly real: number,
    readonly imag: number,
  ) {}
}

/** A module-level name the pickle refers to (a class, a function, a dtype): never resolved to code. */
export class PyGlobal {
  constructor(
    readonly module: string,
    readonly name: string,
  ) {}

  get qualifiedName(): string {
    return `${this.module}.${this.name}`;
  }
}

/** An instance of an allowlisted plain class (argparse.Namespace, pathlib paths, numpy values): its class, arguments and state. */
export class PyObject {
  state: PyValue | undefined;
  constructor(
    readonly cls: PyGlobal,
    readonly args: readonly PyValue[],
  ) {}
}

/**
 * What calling or instantiating an unknown global produced under `skipUnknown`: an inert
 * record of the call, so that the tensors beside it can still be extracted.
 */
export class PyOpaque {
  state: PyValue | undefined;
  readonly items: PyValue[] = [];
  constructor(
    readonly callee: PyGlobal | PyValue,
    readonly args: readonly PyValue[],
    /** Where the call was made: stream name and byte offset. */
    readonly location: string,
  ) {}
}

/**
 * A value that a format layer (torch) builds from its own globals: a storage, a tensor, a
 * dtype. It may accept BUILD, SETITEM or APPEND through these optional methods.
 */
export abstract class PyExtension {
  build?(state: PyValue): void;
}

/** True for a Python str. */
export function isStr(v: PyValue | undefined): v is string {
  return typeof v === 'string';
}

/** A Python int as a JS number, or undefined when it is not an int in the safe range. */
export function asInt(v: PyValue | undefined): number | undefined {
  if (typeof v === 'number' && Number.isInteger(v)) return v;
  if (typeof v === 'bigint' && v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER)) return Number(v);
  if (typeof v === 'boolean') return v ? 1 : 0;
  return undefined;
}

/** Items of a tuple or list. */
export function sequenceItems(v: PyValue | undefined): readonly PyValue[] | undefined {
  if (v instanceof PyTuple) return v.items;
  if (Array.isArray(v)) return v;
  return undefined;
}

/** A short description of a value for messages. */
export function describe(v: PyValue | undefined): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'None';
  if (typeof v === 'boolean') return v ? 'True' : 'False';
  if (typeof v === 'number' || typeof v === 'bigint') return `int ${v}`;
  if (v instanceof PyFloat) return `float ${floatRepr(v.value)}`;
  if (typeof v === 'string') return `str ${JSON.stringify(v.length > 40 ? v.slice(0, 40) + '…' : v)}`;
  if (v instanceof Uint8Array) return `bytes(${v.length})`;
  if (Array.isArray(v)) return `list(${v.length})`;
  if (v instanceof PyTuple) return `tuple(${v.items.length})`;
  if (v instanceof PyDict) return `${v.type}(${v.size})`;
  if (v instanceof PySet) return v.frozen ? 'frozenset' : 'set';
  if (v instanceof PyGlobal) return `global ${v.qualifiedName}`;
  if (v instanceof PyObject) return `${v.cls.qualifiedName} object`;
  if (v instanceof PyOpaque) return `placeholder for ${v.callee instanceof PyGlobal ? v.callee.qualifiedName : 'a call'}`;
  return v.constructor.name;
}

/** Python's repr of a float: shortest round-trip digits, `3.0`, `1e-05`, `1e+16`, `inf`, `nan`. */
export function floatRepr(x: number): string {
  if (Number.isNaN(x)) return 'nan';
  if (!Number.isFinite(x)) return x > 0 ? 'inf' : '-inf';
  if (x === 0) return Object.is(x, -0) ? '-0.0' : '0.0';
  const [mantissa, exp] = x.toExponential().split('e') as [string, string];
  const e = Number(exp);
  const sign = mantissa.startsWith('-') ? '-' : '';
  const digits = mantissa.replace(/^-/, '').replace('.', '');
  if (e < -4 || e >= 16) {
    const m = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
    return `${sign}${m}e${e < 0 ? '-' : '+'}${String(Math.abs(e)).padStart(2, '0')}`;
  }
  if (e < 0) return `${sign}0.${'0'.repeat(-e - 1)}${digits}`;
  const int = digits.slice(0, e + 1).padEnd(e + 1, '0');
  const frac = digits.slice(e + 1);
  return `${sign}${int}.${frac || '0'}`;
}
