import { classifyGlobal, normalizeGlobal, SAFE_GLOBALS } from './allowlist.js';
import { readOp, type Op } from './disassemble.js';
import { PickleError, type PickleErrorCode } from './errors.js';
import { MAX_CONTAINER_ITEMS, MAX_MARK_DEPTH, MAX_MEMO, MAX_OPS, MAX_PICKLE_HEAP_BYTES, MAX_STACK, MAX_TEXT_CHARS } from './limits.js';
import { HIGHEST_PROTOCOL } from './opcodes.js';
import { describe, PyByteArray, PyDict, PyExtension, PyFloat, PyGlobal, PyObject, PyOpaque, PySet, PyTuple, resetKeyTokens, type PyValue } from './values.js';

/** Where a handler runs: for messages that say where in the stream a problem is. */
export interface CallContext {
  readonly where: string;
  readonly offset: number;
  fail(code: PickleErrorCode, message: string): never;
}

/** What a global does when the pickle calls or instantiates it; the code is tensorsafe's, never the pickle's. */
export interface GlobalHandler {
  /** REDUCE, OBJ and INST: `global(*args)`. */
  call?(args: readonly PyValue[], ctx: CallContext): PyValue;
  /** NEWOBJ and NEWOBJ_EX: `global.__new__(global, *args, **kwargs)`. */
  newobj?(args: readonly PyValue[], kwargs: PyDict | undefined, ctx: CallContext): PyValue;
}

export interface MachineOptions {
  /** The stream's name in messages: a file, or an archive entry. */
  where: string;
  /** Handlers by qualified name (`collections.OrderedDict`). */
  handlers: ReadonlyMap<string, GlobalHandler>;
  /** Handlers for families of names (TorchScript's `__torch__.*` classes), asked when `handlers` has none. */
  handlerFor?: (qualifiedName: string) => GlobalHandler | undefined;
  /** BINPERSID / PERSID: the container's references to data outside the pickle (torch storages). */
  persistentLoad?: (pid: PyValue, ctx: CallContext) => PyValue;
  /** Turn unknown (not dangerous) globals into inert placeholders instead of failing. */
  skipUnknown?: boolean;
  /**
   * Read unknown classes whose instances are plain records (torch's module objects) without
   * `skipUnknown`. An unknown (not dangerous) class is adopted when the pickle uses it for nothing
   * but making instances with no arguments (NEWOBJ, REDUCE with an empty tuple, or protocol 0/1's
   * `copyreg._reconstructor(cls, object, None)`; the legacy format's persistent ids that resolve to
   * the class they hold count as the class on the stack), and gives every
   * instance exactly one BUILD, with a state `accepts` takes, and no items. Its instances are
   * inert placeholders whose state the caller reads; nothing of the class is run. A class used in
   * any other way (as a value, with arguments, with another state) is refused as before, or kept
   * as a placeholder with `skipUnknown`. Decided when the stream ends.
   */
  adoptClasses?: AdoptClasses;
}

export interface AdoptClasses {
  /** Whether an instance's state (its BUILD argument) is a record's. */
  accepts(state: PyValue): boolean;
  /** What the records are, for messages: `torch module object`. */
  readonly what: string;
}

/** An unknown object kept as a placeholder. */
export interface Placeholder {
  global: string;
  location: string;
}

export interface UnpickleResult {
  value: PyValue;
  /** Offset just after the STOP opcode. */
  end: number;
  /** Highest PROTO seen (0 when none). */
  protocol: number;
  placeholders: Placeholder[];
  /** Every global the stream named, qualified. */
  globals: Set<string>;
  /** Unknown classes read as records under `adoptClasses`, in the order first named. */
  adopted: string[];
}

/** An unknown class that may be adopted: how the pickle used it so far. */
interface Candidate {
  readonly name: string;
  /** Where the stream first names it. */
  readonly offset: number;
  /** Times the class was put on the stack (GLOBAL, STACK_GLOBAL, INST, memo GET, DUP)… */
  pushes: number;
  /** …and times it was instantiated: equal when it went nowhere else. */
  uses: number;
  /** The first way it was used that is not a record's. */
  problem: string | undefined;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Estimated bytes of JS memory, charged as values are made (see MAX_PICKLE_HEAP_BYTES). Upper
 * bounds measured on Node 20 (64-bit): a stack or list slot 8 bytes, a small object (tuple, float,
 * global, empty list) up to 64, a view of the pickle's bytes about 100, a dict item (its Map entry
 * and key/value pair) about 64. Nothing is subtracted when a value dies: the estimate only grows.
 */
const COST = { slot: 8, object: 64, view: 112, item: 64, string: 24 } as const;
/** Slots of one chunk of the memo's dense part: 2^MEMO_SHIFT. */
const MEMO_SHIFT = 12;
const MEMO_CHUNK = 1 << MEMO_SHIFT;
/** CPython shares one empty tuple; so does the machine (a flood of EMPTY_TUPLE costs a slot each). */
const EMPTY_TUPLE = new PyTuple([]);

/**
 * The memo: indices 0, 1, 2, … (MEMOIZE, and what writers put with BINPUT) in chunks of slots,
 * 8 bytes each and never copied as it grows; any other index in a Map.
 */
class Memo {
  private readonly chunks: (PyValue | undefined)[][] = [];
  /** Indices [0, dense) are in `chunks`. */
  private dense = 0;
  private readonly sparse = new Map<number, PyValue>();

  get size(): number {
    return this.dense + this.sparse.size;
  }

  get(index: number): PyValue | undefined {
    if (index < this.dense) return this.chunks[index >>> MEMO_SHIFT]![index & (MEMO_CHUNK - 1)];
    return this.sparse.get(index);
  }

  has(index: number): boolean {
    return index < this.dense || this.sparse.has(index);
  }

  /** Sets an entry; returns whether it took a Map entry (for the cost). */
  set(index: number, value: PyValue): boolean {
    if (index < this.dense) {
      this.chunks[index >>> MEMO_SHIFT]![index & (MEMO_CHUNK - 1)] = value;
      return false;
    }
    if (index !== this.dense) {
      this.sparse.set(index, value);
      return true;
    }
    this.append(value);
    // Entries put ahead of the dense part join it when it reaches them.
    while (this.sparse.size > 0 && this.sparse.has(this.dense)) {
      const v = this.sparse.get(this.dense)!;
      this.sparse.delete(this.dense);
      this.append(v);
    }
    return false;
  }

  private append(value: PyValue): void {
    const c = this.dense >>> MEMO_SHIFT;
    if (c === this.chunks.length) this.chunks.push(new Array<PyValue | undefined>(MEMO_CHUNK));
    this.chunks[c]![this.dense & (MEMO_CHUNK - 1)] = value;
    this.dense++;
  }
}

/**
 * A data-only pickle machine (protocols 0–5). It executes every opcode's stack effect exactly
 * as CPython's Unpickler does, but a global is only a name: calling one runs the handler
 * registered for it, which builds data. Dangerous globals are refused always; unknown ones are
 * refused, or kept as inert placeholders with `skipUnknown`. Mutations are type-checked
 * (SETITEM only on dicts, APPEND only on lists) and every count is bounded.
 */
export function unpickle(bytes: Uint8Array, options: MachineOptions, start = 0): UnpickleResult {
  return new Machine(bytes, options).run(start);
}

class Machine {
  private stack: PyValue[] = [];
  private readonly marks: number[] = [];
  private readonly memo = new Memo();
  /** Estimated bytes of memory the values made so far take (MAX_PICKLE_HEAP_BYTES). */
  private heap = 0;
  /** Module-state checks of BUILD states, by state: each distinct state is walked once (see build). */
  private readonly accepted = new Map<PyValue, boolean>();
  private readonly placeholders: Placeholder[] = [];
  private readonly globals = new Set<string>();
  private readonly candidates = new Map<string, Candidate>();
  private readonly candidateOf = new Map<PyGlobal, Candidate>();
  /** Instances of candidates, with the number of BUILDs each got. */
  private readonly instances = new Map<PyOpaque, { candidate: Candidate; builds: number }>();
  /** Persistent ids that resolved to a candidate class they hold. */
  private readonly resolvedIds = new Set<PyTuple>();
  private protocol = 0;
  private op!: Op;

  constructor(
    private readonly bytes: Uint8Array,
    private readonly options: MachineOptions,
  ) {}

  run(start: number): UnpickleResult {
    const { bytes } = this;
    resetKeyTokens();
    const where = this.options.where;
    let pos = start;
    let frameEnd = -1;
    for (let count = 0; ; count++) {
      if (count >= MAX_OPS) this.fail('PickleLimit', `more than ${MAX_OPS} opcodes`);
      if (frameEnd >= 0 && pos === frameEnd) frameEnd = -1;
      const op = readOp(bytes, pos, where);
      this.op = op;
      if (frameEnd >= 0 && op.end > frameEnd) {
        this.fail('FrameMismatch', `${op.info.name} runs past the end of its FRAME at byte ${frameEnd}: loaders and scanners would disagree on this stream`);
      }
      pos = op.end;
      if (op.info.name === 'FRAME') {
        if (frameEnd >= 0) this.fail('FrameMismatch', `a FRAME starts before the previous one ends at byte ${frameEnd}`);
        const length = op.arg as number | bigint;
        if (typeof length !== 'number' || op.end + length > bytes.length) this.fail('PickleTruncated', `FRAME of ${length} bytes runs past the end of the pickle`);
        frameEnd = length === 0 ? -1 : op.end + length;
        continue;
      }
      if (op.info.name === 'STOP') {
        const value = this.pop();
        const adopted = this.settleCandidates();
        const placeholders = adopted.length === 0 ? this.placeholders : this.placeholders.filter((p) => !adopted.includes(p.global));
        return { value, end: pos, protocol: this.protocol, placeholders, globals: this.globals, adopted };
      }
      this.step(op);
      // Every opcode pushes at most one value or fills one slot; what it makes beyond that is charged in step.
      this.charge(COST.slot);
      if (this.stack.length > MAX_STACK) this.fail('PickleLimit', `more than ${MAX_STACK} values on the stack`);
    }
  }

  private step(op: Op): void {
    const s = this.stack;
    const arg = op.arg;
    switch (op.info.name) {
      case 'PROTO': {
        const v = arg as number;
        if (v > HIGHEST_PROTOCOL) this.fail('UnsupportedProtocol', `pickle protocol ${v} is newer than ${HIGHEST_PROTOCOL}`);
        this.protocol = Math.max(this.protocol, v);
        return;
      }
      case 'MARK':
        if (this.marks.length >= MAX_MARK_DEPTH) this.fail('PickleLimit', `more than ${MAX_MARK_DEPTH} nested MARKs`);
        this.marks.push(s.length);
        return;
      case 'POP':
        if (s.length > 0 && (this.marks.length === 0 || s.length > this.marks[this.marks.length - 1]!)) s.pop();
        else if (this.marks.length > 0) this.popMark();
        else this.fail('StackUnderflow', 'POP on an empty stack');
        return;
      case 'POP_MARK':
        this.popMark();
        return;
      case 'DUP':
        s.push(this.top());
        this.pushed(this.top());
        return;
      case 'NONE':
        s.push(null);
        return;
      case 'NEWTRUE':
        s.push(true);
        return;
      case 'NEWFALSE':
        s.push(false);
        return;
      case 'INT': {
        const text = (arg as string).trim();
        if (text === '00') s.push(false);
        else if (text === '01') s.push(true);
        else s.push(this.made(this.parseInt(text)));
        return;
      }
      case 'LONG':
        s.push(this.made(this.parseInt((arg as string).trim().replace(/L$/, ''))));
        return;
      case 'BININT':
      case 'BININT1':
      case 'BININT2':
      case 'LONG1':
      case 'LONG4':
        s.push(this.made(arg as number | bigint));
        return;
      case 'FLOAT':
        s.push(this.made(new PyFloat(this.parseFloat(arg as string))));
        return;
      case 'BINFLOAT':
        s.push(this.made(new PyFloat(arg as number)));
        return;
      case 'STRING':
        s.push(this.text(parsePythonStringLiteral(arg as string, (m) => this.fail('InvalidPickle', m))));
        return;
      case 'BINSTRING':
      case 'SHORT_BINSTRING':
        // torch.load reads Python 2 strings with encoding='utf-8'.
        s.push(this.text(arg as Uint8Array));
        return;
      case 'UNICODE':
        s.push(this.made(arg as string));
        return;
      case 'BINUNICODE':
      case 'SHORT_BINUNICODE':
      case 'BINUNICODE8':
        s.push(this.text(arg as Uint8Array));
        return;
      case 'BINBYTES':
      case 'SHORT_BINBYTES':
      case 'BINBYTES8':
        // A view of the pickle's bytes, not a copy (bytes are immutable).
        s.push(this.made(arg as Uint8Array));
        return;
      case 'BYTEARRAY8':
        // A view too: nothing the machine does changes a bytearray.
        s.push(this.made(new PyByteArray(arg as Uint8Array)));
        return;
      case 'NEXT_BUFFER':
      case 'READONLY_BUFFER':
        this.fail('InvalidPickle', `${op.info.name} needs out-of-band buffers, which a file cannot provide`);
      case 'EMPTY_TUPLE':
        s.push(EMPTY_TUPLE);
        return;
      case 'TUPLE':
        s.push(this.made(new PyTuple(this.popMark())));
        return;
      case 'TUPLE1':
        s.push(this.made(new PyTuple([this.pop()])));
        return;
      case 'TUPLE2': {
        const b = this.pop();
        const a = this.pop();
        s.push(this.made(new PyTuple([a, b])));
        return;
      }
      case 'TUPLE3': {
        const c = this.pop();
        const b = this.pop();
        const a = this.pop();
        s.push(this.made(new PyTuple([a, b, c])));
        return;
      }
      case 'EMPTY_LIST':
        s.push(this.made([]));
        return;
      case 'LIST':
        s.push(this.made(this.popMark()));
        return;
      case 'EMPTY_DICT':
        s.push(this.made(new PyDict()));
        return;
      case 'DICT': {
        const items = this.popMark();
        const d = new PyDict();
        this.setItems(d, items);
        s.push(this.made(d));
        return;
      }
      case 'EMPTY_SET':
        s.push(this.made(new PySet([], false)));
        return;
      case 'FROZENSET':
        s.push(this.made(new PySet(this.popMark(), true)));
        return;
      case 'ADDITEMS': {
        const items = this.popMark();
        const target = this.top();
        if (!(target instanceof PySet) || target.frozen) this.fail('InvalidPickle', `ADDITEMS on ${describe(target)}, which is not a set`);
        this.grow(target.items, items);
        return;
      }
      case 'APPEND': {
        const value = this.pop();
        this.append(this.top(), [value]);
        return;
      }
      case 'APPENDS': {
        const items = this.popMark();
        this.append(this.top(), items);
        return;
      }
      case 'SETITEM': {
        const value = this.pop();
        const key = this.pop();
        this.setItems(this.top(), [key, value]);
        return;
      }
      case 'SETITEMS': {
        const items = this.popMark();
        this.setItems(this.top(), items);
        return;
      }
      case 'GET':
      case 'BINGET':
      case 'LONG_BINGET': {
        const index = op.info.name === 'GET' ? this.memoIndex(arg as string) : (arg as number);
        const value = this.memo.get(index);
        if (value === undefined) this.fail('MemoMissing', `memo entry ${index} is read before it is written`);
        s.push(value);
        this.pushed(value);
        return;
      }
      case 'PUT':
      case 'BINPUT':
      case 'LONG_BINPUT': {
        const index = op.info.name === 'PUT' ? this.memoIndex(arg as string) : (arg as number);
        this.memoize(index);
        return;
      }
      case 'MEMOIZE':
        this.memoize(this.memo.size);
        return;
      case 'GLOBAL': {
        const [module, name] = arg as readonly [string, string];
        s.push(this.made(this.resolveGlobal(module, name)));
        return;
      }
      case 'STACK_GLOBAL': {
        const name = this.pop();
        const module = this.pop();
        if (typeof module !== 'string' || typeof name !== 'string') {
          this.fail('InvalidPickle', `STACK_GLOBAL needs a module and a name as two strings, got ${describe(module)} and ${describe(name)}`);
        }
        s.push(this.made(this.resolveGlobal(module, name)));
        return;
      }
      case 'INST': {
        const [module, name] = arg as readonly [string, string];
        const args = this.popMark();
        s.push(this.made(this.call(this.made(this.resolveGlobal(module, name)), args)));
        return;
      }
      case 'OBJ': {
        const items = this.popMark();
        if (items.length === 0) this.fail('StackUnderflow', 'OBJ without a class after its MARK');
        s.push(this.made(this.call(items[0]!, items.slice(1))));
        return;
      }
      case 'REDUCE': {
        const args = this.pop();
        const callee = this.pop();
        if (!(args instanceof PyTuple)) this.fail('InvalidPickle', `REDUCE arguments must be a tuple, got ${describe(args)}`);
        s.push(this.made(this.call(callee, args.items)));
        return;
      }
      case 'NEWOBJ': {
        const args = this.pop();
        const cls = this.pop();
        if (!(args instanceof PyTuple)) this.fail('InvalidPickle', `NEWOBJ arguments must be a tuple, got ${describe(args)}`);
        s.push(this.made(this.newobj(cls, args.items, undefined)));
        return;
      }
      case 'NEWOBJ_EX': {
        const kwargs = this.pop();
        const args = this.pop();
        const cls = this.pop();
        if (!(args instanceof PyTuple) || !(kwargs instanceof PyDict)) this.fail('InvalidPickle', 'NEWOBJ_EX needs a tuple and a dict');
        s.push(this.made(this.newobj(cls, args.items, kwargs)));
        return;
      }
      case 'BUILD': {
        const state = this.pop();
        this.build(this.top(), state);
        return;
      }
      case 'PERSID':
      case 'BINPERSID': {
        const pid = op.info.name === 'PERSID' ? (arg as string) : this.pop();
        const load = this.options.persistentLoad;
        if (!load) this.fail('InvalidPickle', `${op.info.name} refers to data outside the pickle, which this container does not provide`);
        const value = load(pid, this.context());
        // A persistent id may resolve to a class it holds (the legacy format's ('module', cls, file, source)):
        // the class inside the id is used by the load, and the class the load returns is put on the stack.
        const c = value instanceof PyGlobal ? this.candidateOf.get(value) : undefined;
        if (c && pid instanceof PyTuple && pid.items.includes(value) && !this.resolvedIds.has(pid)) {
          this.resolvedIds.add(pid);
          c.uses++;
        }
        s.push(this.made(value));
        this.pushed(value);
        return;
      }
      case 'EXT1':
      case 'EXT2':
      case 'EXT4':
        this.fail('UnsupportedGlobal', `${op.info.name} ${String(arg)} names a global through the copyreg extension registry, which is empty when loading`);
      default:
        this.fail('InvalidOpcode', `${op.info.name} is not supported here`);
    }
  }

  private resolveGlobal(rawModule: string, rawName: string): PyGlobal {
    const [module, name] = normalizeGlobal(rawModule, rawName);
    const g = new PyGlobal(module, name);
    this.globals.add(g.qualifiedName);
    const verdict = classifyGlobal(module, name);
    if (verdict === 'dangerous') {
      this.fail('UnsafeGlobal', `the pickle names ${g.qualifiedName}, which can run code or touch the system when loaded; refusing the file`);
    }
    if (verdict === 'unknown' && !this.handler(g.qualifiedName) && this.options.adoptClasses) {
      // Decided at the end of the stream, from how the class is used.
      let c = this.candidates.get(g.qualifiedName);
      if (!c) this.candidates.set(g.qualifiedName, (c = { name: g.qualifiedName, offset: this.op.pos, pushes: 0, uses: 0, problem: undefined }));
      this.candidateOf.set(g, c);
      c.pushes++;
    } else if (verdict === 'unknown' && !this.handler(g.qualifiedName) && !this.options.skipUnknown) {
      this.fail(
        'UnsupportedGlobal',
        `the pickle names ${g.qualifiedName}, which is not on the allowlist of data types tensorsafe understands (use --skip-unknown to keep it as an inert placeholder and extract the tensors around it)`,
      );
    }
    return g;
  }

  /** A candidate class put on the stack once more. */
  private pushed(v: PyValue): void {
    if (v instanceof PyGlobal) {
      const c = this.candidateOf.get(v);
      if (c) c.pushes++;
    }
  }

  /** An instance of a candidate class, when `cls` is one (else undefined). */
  private instantiate(cls: PyValue, args: readonly PyValue[], how: string): PyOpaque | undefined {
    const c = cls instanceof PyGlobal ? this.candidateOf.get(cls) : undefined;
    if (cls instanceof PyOpaque) this.flag(cls, `an instance is called (${how})`);
    if (!c) return undefined;
    c.uses++;
    if (args.length > 0) c.problem ??= `${how} passes it ${args.length} argument${args.length === 1 ? '' : 's'} at byte ${this.op.pos}`;
    const instance = this.placeholder(cls, args);
    this.instances.set(instance, { candidate: c, builds: 0 });
    return instance;
  }

  /** Protocols 0 and 1 make a plain instance with copyreg._reconstructor(cls, object, None): NEWOBJ's equivalent. */
  private reconstruct(callee: PyValue, args: readonly PyValue[]): PyOpaque | undefined {
    if (!(callee instanceof PyGlobal) || callee.qualifiedName !== 'copyreg._reconstructor' || args.length !== 3) return undefined;
    const [cls, base, state] = args;
    if (!(cls instanceof PyGlobal && this.candidateOf.has(cls)) || !(base instanceof PyGlobal && base.qualifiedName === 'builtins.object') || state !== null) return undefined;
    return this.instantiate(cls, [], 'copyreg._reconstructor');
  }

  /** Records the first way an instance of a candidate is used unlike a record. */
  private flag(target: PyValue, problem: string): void {
    const i = target instanceof PyOpaque ? this.instances.get(target) : undefined;
    if (i) i.candidate.problem ??= `${problem} at byte ${this.op.pos}`;
  }

  /** Which candidates are adopted; a refused one fails the stream unless `skipUnknown`. */
  private settleCandidates(): string[] {
    if (this.candidates.size === 0) return [];
    // The state dict may have been changed through the memo after BUILD: what is read is what is
    // checked, each distinct state once (many instances may share one large state).
    this.accepted.clear();
    for (const [instance, { candidate, builds }] of this.instances) {
      if (builds === 0) candidate.problem ??= 'an instance never gets its state (BUILD)';
      else if (!this.accepts(instance.state ?? null)) {
        candidate.problem ??= `an instance's state is no longer that of a ${this.options.adoptClasses!.what} at the end of the pickle (${describe(instance.state)})`;
      }
    }
    const adopted: string[] = [];
    for (const c of this.candidates.values()) {
      if (c.problem === undefined && c.pushes !== c.uses) c.problem = 'the class itself is used as a value, not only to make instances';
      if (c.problem === undefined) adopted.push(c.name);
      else if (!this.options.skipUnknown) {
        throw new PickleError(
          'UnsupportedGlobal',
          `the pickle names ${c.name}, which is not on the allowlist of data types tensorsafe understands, and is not read as a ${this.options.adoptClasses!.what} either: ${c.problem} (use --skip-unknown to keep it as an inert placeholder and extract the tensors around it)`,
          this.options.where,
          c.offset,
        );
      }
    }
    return adopted;
  }

  private call(callee: PyValue, args: readonly PyValue[]): PyValue {
    const instance = this.instantiate(callee, args, 'REDUCE') ?? this.reconstruct(callee, args);
    if (instance) return instance;
    if (callee instanceof PyGlobal) {
      const handler = this.handler(callee.qualifiedName);
      if (handler?.call) return handler.call(args, this.context());
      if (handler?.newobj) return handler.newobj(args, undefined, this.context());
      return this.placeholder(callee, args);
    }
    if (this.options.skipUnknown || callee instanceof PyOpaque) return this.placeholder(callee, args);
    this.fail('InvalidPickle', `the pickle calls ${describe(callee)}, which is not a global`);
  }

  private newobj(cls: PyValue, args: readonly PyValue[], kwargs: PyDict | undefined): PyValue {
    const instance = this.instantiate(cls, kwargs && kwargs.size > 0 ? [...args, kwargs] : args, 'NEWOBJ');
    if (instance) return instance;
    if (cls instanceof PyGlobal) {
      const handler = this.handler(cls.qualifiedName);
      if (handler?.newobj) return handler.newobj(args, kwargs, this.context());
      if (handler?.call) return handler.call(args, this.context());
      return this.placeholder(cls, args);
    }
    if (this.options.skipUnknown || cls instanceof PyOpaque) return this.placeholder(cls, args);
    this.fail('InvalidPickle', `NEWOBJ on ${describe(cls)}, which is not a class`);
  }

  /**
   * `adoptClasses.accepts(state)`, each distinct state walked once while the stream runs: a state
   * changed later through the memo is checked again at the end (settleCandidates), so a cached
   * answer can only refuse too early, never adopt what the end result would not.
   */
  private accepts(state: PyValue): boolean {
    let ok = this.accepted.get(state);
    if (ok === undefined) {
      ok = this.options.adoptClasses!.accepts(state);
      // Primitives are cheap to check; objects are what can be large and shared.
      if (typeof state === 'object' && state !== null) this.accepted.set(state, ok);
    }
    return ok;
  }

  private handler(qualifiedName: string): GlobalHandler | undefined {
    return this.options.handlers.get(qualifiedName) ?? this.options.handlerFor?.(qualifiedName);
  }

  /** An inert record of a call: harmless allowlisted classes always, unknown ones with skipUnknown. */
  private placeholder(callee: PyValue, args: readonly PyValue[]): PyOpaque {
    const location = `${this.options.where}@${this.op.pos}`;
    const name = callee instanceof PyGlobal ? callee.qualifiedName : describe(callee);
    if (!(callee instanceof PyGlobal && SAFE_GLOBALS.has(name))) this.placeholders.push({ global: name, location });
    return new PyOpaque(callee, args, location);
  }

  private build(target: PyValue, state: PyValue): void {
    const instance = target instanceof PyOpaque ? this.instances.get(target) : undefined;
    if (instance) {
      instance.builds++;
      if (instance.builds > 1) this.flag(target, 'an instance gets a second BUILD');
      else if (!this.accepts(state)) this.flag(target, `an instance gets a state that is not that of a ${this.options.adoptClasses!.what} (${describe(state)})`);
    }
    if (target instanceof PyObject || target instanceof PyOpaque) {
      target.state = state;
    } else if (target instanceof PyDict) {
      // A dict subclass's instance attributes (OrderedDict's `_metadata` in state dicts).
      const attrs = state instanceof PyTuple ? state.items[0] : state;
      if (attrs instanceof PyDict) target.attributes = attrs;
      else if (attrs !== null) this.fail('InvalidPickle', `BUILD on a ${target.type} with ${describe(state)}`);
    } else if (target instanceof PyExtension && target.build) {
      target.build(state);
    } else if (!this.options.skipUnknown) {
      this.fail('InvalidPickle', `BUILD on ${describe(target)}, which takes no state`);
    }
  }

  private setItems(target: PyValue, items: PyValue[]): void {
    if (items.length % 2 !== 0) this.fail('InvalidPickle', 'SETITEMS with an odd number of items');
    if (target instanceof PyDict) {
      if (target.size + items.length / 2 > MAX_CONTAINER_ITEMS) this.fail('PickleLimit', `a dict of more than ${MAX_CONTAINER_ITEMS} items`);
      this.charge((items.length / 2) * COST.item);
      for (let i = 0; i < items.length; i += 2) target.set(items[i]!, items[i + 1]!);
    } else if (target instanceof PyOpaque) {
      this.flag(target, 'an instance is given items (SETITEM)');
      this.grow(target.items, items);
    } else {
      this.fail('InvalidPickle', `SETITEM on ${describe(target)}, which is not a dict`);
    }
  }

  private append(target: PyValue, items: PyValue[]): void {
    if (Array.isArray(target)) this.grow(target, items);
    else if (target instanceof PyOpaque) {
      this.flag(target, 'an instance is given items (APPEND)');
      this.grow(target.items, items);
    } else this.fail('InvalidPickle', `APPEND on ${describe(target)}, which is not a list`);
  }

  private grow(list: PyValue[], items: readonly PyValue[]): void {
    if (list.length + items.length > MAX_CONTAINER_ITEMS) this.fail('PickleLimit', `a container of more than ${MAX_CONTAINER_ITEMS} items`);
    // Twice a slot: an array that grows keeps up to half as many slots again in reserve.
    this.charge(items.length * 2 * COST.slot);
    for (let i = 0; i < items.length; i++) list.push(items[i]!);
  }

  private memoize(index: number): void {
    if (this.stack.length === 0) this.fail('StackUnderflow', 'memoizing an empty stack');
    if (this.memo.size >= MAX_MEMO && !this.memo.has(index)) this.fail('PickleLimit', `more than ${MAX_MEMO} memo entries`);
    if (this.memo.set(index, this.top())) this.charge(COST.item);
  }

  private memoIndex(text: string): number {
    const v = Number(text.trim());
    if (!Number.isSafeInteger(v) || v < 0) this.fail('InvalidPickle', `memo index ${JSON.stringify(text)} is not a non-negative integer`);
    return v;
  }

  private parseInt(text: string): number | bigint {
    if (!/^[+-]?\d+$/.test(text)) this.fail('InvalidPickle', `${JSON.stringify(text)} is not an integer`);
    const v = BigInt(text);
    return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
  }

  private parseFloat(text: string): number {
    const t = text.trim().toLowerCase();
    if (t === 'nan' || t === '-nan') return NaN;
    if (t === 'inf' || t === 'infinity') return Infinity;
    if (t === '-inf' || t === '-infinity') return -Infinity;
    const v = Number(t);
    if (t === '' || Number.isNaN(v)) this.fail('InvalidPickle', `${JSON.stringify(text)} is not a float`);
    return v;
  }

  /** UTF-8 text; CPython writes lone surrogates with `surrogatepass`, which is decoded the same way here. */
  private text(bytes: Uint8Array): string {
    // A JS string holds fewer characters than a pickle's string can have bytes: refused before decoding.
    if (bytes.length > MAX_TEXT_CHARS) this.fail('PickleLimit', `a string of ${bytes.length} bytes is longer than ${MAX_TEXT_CHARS}`);
    try {
      return this.made(utf8.decode(bytes));
    } catch {
      const s = decodeSurrogatePass(bytes);
      if (s === undefined) this.fail('InvalidPickle', 'a string is not valid UTF-8');
      return this.made(s);
    }
  }

  /**
   * Charges what a value just made takes itself (its items are charged when they were made): this
   * bounds what handlers that copy (OrderedDict(d), set(x), bytes(x), torch.Size(t)) make from a
   * value passed to them many times over.
   */
  private made<T extends PyValue>(v: T): T {
    this.charge(shallowCost(v, this.bytes.buffer));
    return v;
  }

  private charge(bytes: number): void {
    this.heap += bytes;
    if (this.heap > MAX_PICKLE_HEAP_BYTES) {
      this.fail('PickleLimit', `the values the pickle builds would take more than ${MAX_PICKLE_HEAP_BYTES} bytes of memory (MAX_PICKLE_HEAP_BYTES)`);
    }
  }

  private pop(): PyValue {
    const s = this.stack;
    const floor = this.marks.length > 0 ? this.marks[this.marks.length - 1]! : 0;
    if (s.length <= floor) this.fail('StackUnderflow', `${this.op.info.name} needs a value on the stack`);
    return s.pop()!;
  }

  private top(): PyValue {
    const s = this.stack;
    const floor = this.marks.length > 0 ? this.marks[this.marks.length - 1]! : 0;
    if (s.length <= floor) this.fail('StackUnderflow', `${this.op.info.name} needs a value on the stack`);
    return s[s.length - 1]!;
  }

  private popMark(): PyValue[] {
    const at = this.marks.pop();
    if (at === undefined) this.fail('MarkMissing', `${this.op.info.name} needs a MARK before its items`);
    return this.stack.splice(at);
  }

  private context(): CallContext {
    const where = this.options.where;
    const offset = this.op.pos;
    return { where, offset, fail: (code, message) => this.fail(code, message) };
  }

  private fail(code: PickleErrorCode, message: string): never {
    throw new PickleError(code, message, this.options.where, this.op?.pos ?? 0);
  }
}

/** Estimated bytes a value takes by itself, not counting the values it holds (see COST). */
function shallowCost(v: PyValue, pickle: ArrayBufferLike): number {
  if (v === null || typeof v === 'boolean' || typeof v === 'number') return 0;
  if (typeof v === 'string') return COST.string + 2 * v.length;
  if (typeof v === 'bigint') return COST.object + Math.ceil(bitLength(v) / 8);
  if (v instanceof Uint8Array) return COST.view + (v.buffer === pickle ? 0 : v.byteLength);
  if (Array.isArray(v)) return COST.object + COST.slot * v.length;
  if (v instanceof PyTuple) return COST.object + COST.slot * v.items.length;
  if (v instanceof PyDict) return COST.object + COST.item * v.size;
  if (v instanceof PySet) return COST.object + COST.slot * v.items.length;
  if (v instanceof PyByteArray) return COST.object + shallowCost(v.bytes, pickle);
  if (v instanceof PyGlobal) return COST.object + COST.string * 2 + 2 * (v.module.length + v.name.length);
  if (v instanceof PyObject || v instanceof PyOpaque) return COST.object * 2 + COST.slot * v.args.length;
  // Floats, complex numbers, torch's storages and tensors (a few small arrays each).
  return COST.object * 4;
}

function bitLength(v: bigint): number {
  // Hexadecimal digits: linear in the size, unlike repeated shifts.
  return 4 * (v < 0n ? -v : v).toString(16).length;
}

/** Python's string literal syntax of protocol-0 STRING: quotes, backslash escapes, octal and \x. */
export function parsePythonStringLiteral(text: string, fail: (message: string) => never): Uint8Array {
  const t = text.replace(/\r$/, '');
  const q = t[0];
  if ((q !== "'" && q !== '"') || t.length < 2 || t[t.length - 1] !== q) fail(`STRING argument ${JSON.stringify(t.slice(0, 40))} is not quoted`);
  const body = t.slice(1, -1);
  const out: number[] = [];
  for (let i = 0; i < body.length; i++) {
    const c = body.charCodeAt(i);
    if (c !== 0x5c) {
      out.push(c & 0xff);
      continue;
    }
    const e = body[++i];
    const simple: Record<string, number> = { n: 10, t: 9, r: 13, '\\': 92, "'": 39, '"': 34, a: 7, b: 8, f: 12, v: 11, '\n': -1 };
    if (e === undefined) fail('STRING ends with a backslash');
    if (e in simple) {
      if (simple[e]! >= 0) out.push(simple[e]!);
    } else if (e === 'x') {
      const hex = body.slice(i + 1, i + 3);
      if (!/^[0-9a-fA-F]{2}$/.test(hex)) fail('bad \\x escape in STRING');
      out.push(parseInt(hex, 16));
      i += 2;
    } else if (e >= '0' && e <= '7') {
      let oct = e;
      while (oct.length < 3 && body[i + 1] !== undefined && body[i + 1]! >= '0' && body[i + 1]! <= '7') oct += body[++i];
      out.push(parseInt(oct, 8) & 0xff);
    } else {
      out.push(0x5c, e.charCodeAt(0) & 0xff);
    }
  }
  return Uint8Array.from(out);
}

/** UTF-8 that may encode surrogates (CPython's `surrogatepass`); undefined when not even that. */
function decodeSurrogatePass(bytes: Uint8Array): string | undefined {
  let out = '';
  for (let i = 0; i < bytes.length; ) {
    const b = bytes[i]!;
    if (b < 0x80) {
      out += String.fromCharCode(b);
      i++;
      continue;
    }
    const n = b >= 0xf0 ? 3 : b >= 0xe0 ? 2 : b >= 0xc0 ? 1 : -1;
    if (n < 0 || i + n > bytes.length - 1) return undefined;
    let cp = b & (0x3f >> n);
    for (let k = 1; k <= n; k++) {
      const c = bytes[i + k];
      if (c === undefined || (c & 0xc0) !== 0x80) return undefined;
      cp = (cp << 6) | (c & 0x3f);
    }
    if (cp > 0x10ffff) return undefined;
    out += String.fromCodePoint(cp);
    i += n + 1;
  }
  return out;
}

