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
  /** Made on the first item: an empty dict costs a few words, not a hash table (EMPTY_DICT floods). */
  private map: Map<unknown, [PyValue, PyValue]> | undefined;
  /** Attributes set by BUILD (OrderedDict's `_metadata`, say). */
  attributes: PyDict | undefined;

  /** `type` names the class: `dict`, `collections.OrderedDict`, … */
  constructor(readonly type = 'dict') {}

  /** As Python: a key equal to one already there keeps the first key object and takes the new value. */
  set(key: PyValue, value: PyValue): void {
    const map = (this.map ??= new Map());
    const k = dictKey(key);
    const e = map.get(k);
    if (e) e[1] = value;
    else map.set(k, [key, value]);
  }

  get(key: PyValue): PyValue | undefined {
    return this.map?.get(dictKey(key))?.[1];
  }

  has(key: PyValue): boolean {
    return this.map?.has(dictKey(key)) ?? false;
  }

  get size(): number {
    return this.map?.size ?? 0;
  }

  *entries(): IterableIterator<[PyValue, PyValue]> {
    if (this.map) for (const e of this.map.values()) yield e;
  }

  /** The values alone, without a pair per item. */
  *values(): IterableIterator<PyValue> {
    if (this.map) for (const e of this.map.values()) yield e[1];
  }

  keys(): PyValue[] {
    const out: PyValue[] = [];
    if (this.map) for (const e of this.map.values()) out.push(e[0]);
    return out;
  }
}

/**
 * Identity of a dict key, as Python's hash and == decide it: numbers by value (`1`, `1.0`, `True` are
 * one key), str by value, bytes and tuples by content, everything else by reference. Bytes and tuples
 * are hash-consed to one token object per content (a tuple's content is the ids of its items), so
 * that a key is computed once per object, never by walking a tuple that shares its parts (a tuple
 * DAG `T(i) = (T(i-1), T(i-1))` is 2^i items deep but i tokens), and never recursively.
 */
function dictKey(key: PyValue): unknown {
  if (typeof key === 'string') return key;
  if (typeof key === 'boolean') return key ? 1 : 0;
  if (typeof key === 'number') return key;
  if (typeof key === 'bigint') return key >= -(2n ** 53n) && key <= 2n ** 53n ? Number(key) : key;
  if (key instanceof PyFloat) return key.value;
  if (key instanceof Uint8Array || key instanceof PyTuple) return keys.token(key);
  return key;
}

/**
 * The token of each bytes or tuple object used as a key, for as long as the object lives: a dict
 * built by an earlier machine run is still found by the keys it holds.
 */
const tokenOf = new WeakMap<Uint8Array | PyTuple, object>();

/**
 * Hash-consing of bytes and tuple keys: which contents have a token. The tables live for one
 * unpickling (`resetKeyTokens` is called when a machine starts), so that what a hostile file
 * interns is freed with it; only keys made within one run need to meet by content.
 */
class KeyTokens {
  private readonly tokens = new Map<string, object>();
  private readonly ids = new Map<unknown, number>();
  private readonly objectIds = new WeakMap<object, number>();
  private next = 0;

  token(key: Uint8Array | PyTuple): object {
    const known = tokenOf.get(key);
    if (known) return known;
    if (key instanceof Uint8Array) {
      // Bytes too long to be a JS string are keys by identity: never equal to another object's.
      if (key.length >= MAX_KEY_BYTES) return this.intern(key, `#${this.next++}`);
      return this.intern(key, 'b' + latin1.decode(key));
    }
    // Tuples inside tuples first, without recursion: a stack of tuples whose items are not all tokened.
    const pending: PyTuple[] = [key];
    while (pending.length > 0) {
      const t = pending[pending.length - 1]!;
      if (tokenOf.has(t)) {
        pending.pop();
        continue;
      }
      let ready = true;
      for (const x of t.items) {
        if (x instanceof PyTuple && !tokenOf.has(x)) {
          pending.push(x);
          ready = false;
        }
      }
      if (!ready) continue;
      pending.pop();
      let content = 't';
      for (const x of t.items) content += ',' + this.idOf(x);
      this.intern(t, content);
    }
    return tokenOf.get(key)!;
  }

  private intern(key: Uint8Array | PyTuple, content: string): object {
    let token = this.tokens.get(content);
    if (!token) this.tokens.set(content, (token = {}));
    tokenOf.set(key, token);
    return token;
  }

  /** A number for an item of a tuple key: equal items, equal numbers. */
  private idOf(x: PyValue): number {
    const k = x instanceof PyTuple ? tokenOf.get(x)! : x instanceof Uint8Array ? this.token(x) : dictKey(x);
    if (typeof k === 'object' && k !== null) {
      let id = this.objectIds.get(k);
      if (id === undefined) this.objectIds.set(k, (id = this.next++));
      return id;
    }
    let id = this.ids.get(k);
    if (id === undefined) this.ids.set(k, (id = this.next++));
    return id;
  }
}

const latin1 = new TextDecoder('latin1');
/** Bytes of a bytes key compared by content; a longer one (past what a JS string can hold) is a key by identity. */
const MAX_KEY_BYTES = 1 << 28;
let keys = new KeyTokens();

/** Forget the tokens of bytes and tuple keys made so far (a machine starts). */
export function resetKeyTokens(): void {
  keys = new KeyTokens();
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
