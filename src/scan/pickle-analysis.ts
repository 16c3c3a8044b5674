import { classifyGlobal, normalizeGlobal } from '../formats/pickle/allowlist.js';
import { readOp, type Op } from '../formats/pickle/disassemble.js';
import { PickleError } from '../formats/pickle/errors.js';
import { MAX_LINE_BYTES, MAX_MARK_DEPTH, MAX_MEMO, MAX_OPS, MAX_STACK } from '../formats/pickle/limits.js';
import { HIGHEST_PROTOCOL, OPCODES } from '../formats/pickle/opcodes.js';
import type { Finding } from './findings.js';

/**
 * Pickle analysis by symbolic execution: every opcode is decoded and its effect on a model of the
 * stack and memo is played out, so that each GLOBAL, STACK_GLOBAL, INST, OBJ, REDUCE, NEWOBJ and BUILD
 * is tied to the callable it reaches however the name was assembled (memo indirection, text opcodes,
 * dotted attribute paths, names computed at load time). Nothing is ever resolved or run, and a
 * malformed stream is a finding, never a crash: what was seen before the damage is kept, because a
 * real unpickler would already have run it.
 */

/** Loaders that unpickle their argument: a pickle passed to them is analysed with full severity. */
const NESTED_LOADERS = new Set([
  'pickle.loads',
  '_pickle.loads',
  'pickle._loads',
  'dill.loads',
  'cloudpickle.loads',
  'joblib.load',
  'torch.storage._load_from_bytes',
  'numpy.loads',
]);
/** Depth of pickles nested in pickles that are analysed: guards against recursion bombs. */
export const MAX_NESTED_PICKLES = 4;
/** Shortest bytes constant taken as a possible nested pickle. */
const MIN_NESTED_PICKLE_BYTES = 8;
/** Most pickles analysed one after another in one stream. */
export const MAX_STACKED_PICKLES = 64;

type Sym =
  | { kind: 'str'; value: string }
  | { kind: 'bytes'; value: Uint8Array; at: number }
  | { kind: 'int'; value: number | bigint }
  | { kind: 'global'; name: string; at: number }
  | { kind: 'call'; callee: Sym; at: number }
  | { kind: 'value' }
  /** None, a bool or a float: never a string, a container or a callable. */
  | { kind: 'scalar' }
  | { kind: 'container'; items: Sym[] };

const VALUE: Sym = { kind: 'value' };
const SCALAR: Sym = { kind: 'scalar' };

interface RunResult {
  end: number;
  /** Why the pickle stopped before its STOP, if it did. */
  stop: StopKind | undefined;
  acted: boolean;
  truncated: boolean;
  value: number | bigint | undefined;
}

export interface PickleAnalysisOptions {
  /** The stream's name in locations: `file`, `file:entry`. */
  where: string;
  report: (finding: Finding) => void;
  /** Globals that are expected in this container although not on the allowlist (TorchScript's `__torch__.*`). */
  expected?: (qualifiedName: string) => boolean;
  /** Offset of `bytes` in the file, for locations. */
  base?: number;
  depth?: number;
}

export interface PickleStreamResult {
  /** Offset after the last STOP analysed (relative to `bytes`). */
  end: number;
  /** Pickles analysed. */
  pickles: number;
  /** The stream could not be fully decoded (truncated, invalid opcode, …) after it imported something, or it exceeded a limit. */
  malformed: boolean;
  /** The literal integer the first pickle returns, if it is one (the legacy torch magic number). */
  firstValue: number | bigint | undefined;
  /** Something was imported (GLOBAL, STACK_GLOBAL, INST, EXT*) by the pickles analysed. */
  acted: boolean;
  /**
   * The bytes at the start are not a pickle that does anything: CPython's unpickler stops (invalid
   * opcode, missing MARK, bad argument, truncation, a module name that cannot be imported) before its
   * STOP and before importing anything. Nothing is reported for them.
   */
  inert: boolean;
  /** Where and why CPython's unpickler stops on `inert` bytes. */
  inertReason?: string;
  /** The analysis stopped because the bytes ran out (a caller reading a window may read more). */
  truncated: boolean;
}

/**
 * Analyses the pickle at the start of `bytes`, then any that follow it (several pickles in one
 * stream are each loaded by a loader that calls `pickle.load` repeatedly), for at most `maxPickles`.
 * Whatever CPython's unpickler would execute is analysed; bytes on which it stops before importing
 * anything are not a pickle (text, source code, other formats): they are `inert` at the start, and
 * end the stream after a pickle.
 */
export function analyzePickles(bytes: Uint8Array, options: PickleAnalysisOptions, maxPickles = MAX_STACKED_PICKLES): PickleStreamResult {
  let pos = 0;
  let pickles = 0;
  let firstValue: number | bigint | undefined;
  let acted = false;
  while (pos < bytes.length && pickles < maxPickles) {
    const found: Finding[] = [];
    const r = new Analysis(bytes, { ...options, report: (f) => found.push(f) }).run(pos);
    if (r.stop === 'cpython' && !r.acted) {
      // CPython stops here before importing anything: these bytes are not a pickle that does anything.
      const reason = found.find((f) => f.rule === 'pickle/malformed')?.message.replace(/; a loader .*$/, '');
      return { end: pos, pickles, malformed: false, firstValue, acted, inert: pickles === 0, inertReason: reason, truncated: r.truncated };
    }
    for (const f of found) options.report(f);
    acted ||= r.acted;
    if (pickles === 0) firstValue = r.value;
    pickles++;
    if (r.stop !== undefined) return { end: r.end, pickles, malformed: true, firstValue, acted, inert: false, truncated: r.truncated };
    pos = r.end;
  }
  return { end: pos, pickles, malformed: false, firstValue, acted, inert: false, truncated: false };
}

/**
 * Can CPython's import find a module of this name? `pickle`'s find_class imports the module with
 * `__import__`, which looks the name up in sys.modules, among built-in and frozen modules, then as a
 * file or folder of exactly that name on sys.path: an empty name or an empty dotted part raises
 * ValueError or ModuleNotFoundError. Names with a part that is neither an identifier nor a hyphenated
 * name (`lib-dynload` is a folder of the standard library; `train-model.py` a script beside the user)
 * are taken as impossible to import: spaces, quotes, brackets, `:`, `=`… are source text, and no
 * installed Python provides such a module (a file named so would have to be planted on sys.path).
 */
export function importableModule(module: string): boolean {
  return module.split('.').every((part) => MODULE_PART.test(part));
}
const MODULE_PART = /^[\p{L}\p{M}\p{N}\p{Pc}-]+$/u;

/** What stopped an analysis: CPython's unpickler would stop too (`cpython`), or one of our limits (`limit`). */
type StopKind = 'cpython' | 'limit';

class Analysis {
  private stack: Sym[] = [];
  private readonly marks: number[] = [];
  private readonly memo = new Map<number, Sym>();
  private readonly where: string;
  private readonly base: number;
  private op!: Op;

  constructor(
    private readonly bytes: Uint8Array,
    private readonly options: PickleAnalysisOptions,
  ) {
    this.where = options.where;
    this.base = options.base ?? 0;
  }

  /** Imports reached (an import runs the module's code, and gives the pickle a callable). */
  private acted = false;

  run(start: number): RunResult {
    let pos = start;
    let frameEnd = -1;
    let protoSeen = false;
    for (let count = 0; ; count++) {
      if (count >= MAX_OPS) return this.stop('limit', 'pickle/limit', `more than ${MAX_OPS} opcodes`, pos);
      if (frameEnd >= 0 && pos === frameEnd) frameEnd = -1;
      let op: Op;
      try {
        op = readOp(this.bytes, pos, this.where);
      } catch (e) {
        const detail = e instanceof PickleError ? e.detail : String(e);
        // Our limits on lengths are not CPython's: past one, what CPython would do is unknown, unless it fails anyway.
        const past = e instanceof PickleError && e.code === 'PickleLimit' ? pastLimit(this.bytes, pos) : 'cpython';
        const kind: StopKind = past === 'unknown' ? 'limit' : 'cpython';
        const truncated = e instanceof PickleError && (e.code === 'PickleTruncated' || past === 'truncated');
        return this.stop(kind, 'pickle/malformed', `the pickle cannot be decoded past byte ${this.base + pos} (${detail}); a loader runs everything before this point`, pos, truncated);
      }
      this.op = op;
      if (frameEnd >= 0 && op.end > frameEnd) {
        this.finding(
          'dangerous',
          'pickle/frame-mismatch',
          `${op.info.name} at byte ${this.base + op.pos} runs past the end of its FRAME (byte ${this.base + frameEnd}): CPython's C unpickler and linear parsers read this stream differently, a way to hide opcodes from scanners`,
        );
        // What the straddling opcode swallows is what CPython's C unpickler runs: analyse it as opcodes.
        if (op.arg instanceof Uint8Array && op.arg.length > 0 && (this.options.depth ?? 0) < MAX_NESTED_PICKLES) {
          const hiddenAt = this.base + op.end - op.arg.length;
          const hidden = analyzePickles(op.arg, { ...this.options, where: `${this.where} (opcodes hidden at byte ${hiddenAt})`, base: hiddenAt, depth: (this.options.depth ?? 0) + 1 }, 1);
          this.acted ||= hidden.acted;
        }
        frameEnd = -1;
      }
      pos = op.end;
      const name = op.info.name;
      if (name === 'FRAME') {
        if (typeof op.arg === 'bigint') return this.stop('cpython', 'pickle/malformed', `a FRAME at byte ${this.base + op.pos} runs past the end of the stream`, pos, true);
        frameEnd = typeof op.arg === 'number' && op.arg > 0 ? op.end + op.arg : -1;
        if (frameEnd > this.bytes.length) return this.stop('cpython', 'pickle/malformed', `a FRAME at byte ${this.base + op.pos} runs past the end of the stream`, pos, true);
        continue;
      }
      if (name === 'PROTO') {
        if (protoSeen || op.pos !== start) this.finding('suspicious', 'pickle/misplaced-proto', `PROTO at byte ${this.base + op.pos} is not the pickle's first opcode`);
        protoSeen = true;
        if ((op.arg as number) > HIGHEST_PROTOCOL) return this.stop('cpython', 'pickle/malformed', `unknown protocol ${String(op.arg)}`, pos);
        continue;
      }
      if (name === 'STOP') {
        // CPython pops the result: a STOP with nothing above the last MARK fails.
        if (this.stack.length <= this.floor()) return this.stop('cpython', 'pickle/malformed', `STOP at byte ${this.base + op.pos} without a value; a loader fails here, after running everything before`, pos);
        const top = this.stack[this.stack.length - 1];
        return { end: pos, stop: undefined, acted: this.acted, truncated: false, value: top?.kind === 'int' ? top.value : undefined };
      }
      const problem = this.step(op);
      if (problem) return this.stop('cpython', 'pickle/malformed', `${problem} at byte ${this.base + op.pos} (${op.info.name}); a loader fails here, after running everything before`, pos);
      if (this.stack.length > MAX_STACK || this.memo.size > MAX_MEMO || this.marks.length > MAX_MARK_DEPTH) {
        return this.stop('limit', 'pickle/limit', `the stream exceeds the analysis limits (stack, memo or nesting) at byte ${this.base + op.pos}: resource exhaustion`, pos);
      }
    }
  }

  /** Plays out one opcode; returns a description of a structural error, if any. */
  private step(op: Op): string | undefined {
    const s = this.stack;
    const arg = op.arg;
    const at = this.base + op.pos;
    switch (op.info.name) {
      case 'MARK':
        this.marks.push(s.length);
        return;
      case 'POP':
        if (s.length > this.floor()) s.pop();
        else if (this.marks.length > 0) this.popMark();
        else return 'POP on an empty stack';
        return;
      case 'POP_MARK':
        return this.popMark() ? undefined : 'POP_MARK without a MARK';
      case 'DUP':
        if (s.length <= this.floor()) return 'DUP on an empty stack';
        s.push(s[s.length - 1]!);
        return;
      case 'NONE':
      case 'NEWTRUE':
      case 'NEWFALSE':
      case 'BINFLOAT':
        s.push(SCALAR);
        return;
      case 'FLOAT':
        if (!cFloat(arg as string)) return `${JSON.stringify(cString(arg as string))} is not a float`;
        s.push(SCALAR);
        return;
      case 'INT':
      case 'LONG': {
        // INT: C strtol or Python int(text, 0); LONG: int(text, 0) after a trailing L is dropped.
        const line = cString(arg as string);
        const text = op.info.name === 'LONG' && (arg as string).endsWith('L') ? (arg as string).slice(0, -1) : line;
        if (!pyInt(text, op.info.name === 'INT')) return `${JSON.stringify(line)} is not an integer`;
        const digits = text.trim();
        s.push(/^[+-]?\d+$/.test(digits) && digits !== '00' && digits !== '01' ? { kind: 'int', value: BigInt(digits) } : SCALAR);
        return;
      }
      case 'BININT':
      case 'BININT1':
      case 'BININT2':
      case 'LONG1':
      case 'LONG4':
        s.push({ kind: 'int', value: arg as number | bigint });
        return;
      case 'STRING': {
        const value = pyStringLiteral(arg as string);
        if (value === undefined) return 'the STRING argument is not a quoted Python string';
        s.push({ kind: 'str', value });
        return;
      }
      case 'UNICODE':
        s.push({ kind: 'str', value: arg as string });
        return;
      case 'BINSTRING':
      case 'SHORT_BINSTRING':
      case 'BINUNICODE':
      case 'SHORT_BINUNICODE':
      case 'BINUNICODE8':
        s.push({ kind: 'str', value: new TextDecoder().decode(arg as Uint8Array) });
        return;
      case 'BINBYTES':
      case 'SHORT_BINBYTES':
      case 'BINBYTES8':
      case 'BYTEARRAY8':
        s.push({ kind: 'bytes', value: arg as Uint8Array, at: at + (op.end - op.pos) - (arg as Uint8Array).length });
        return;
      case 'NEXT_BUFFER':
      case 'READONLY_BUFFER':
        s.push(VALUE);
        return;
      case 'EMPTY_TUPLE':
      case 'EMPTY_LIST':
      case 'EMPTY_DICT':
      case 'EMPTY_SET':
        s.push({ kind: 'container', items: [] });
        return;
      case 'TUPLE':
      case 'LIST':
      case 'DICT':
      case 'FROZENSET': {
        const items = this.popMark();
        if (!items) return `${op.info.name} without a MARK`;
        if (op.info.name === 'DICT' && items.length % 2 !== 0) return 'an odd number of items for DICT';
        s.push({ kind: 'container', items });
        return;
      }
      case 'TUPLE1':
      case 'TUPLE2':
      case 'TUPLE3': {
        const n = Number(op.info.name.slice(-1));
        if (s.length - this.floor() < n) return `${op.info.name} needs ${n} values`;
        s.push({ kind: 'container', items: s.splice(s.length - n, n) });
        return;
      }
      case 'APPEND':
      case 'SETITEM':
      case 'SETITEMS':
      case 'APPENDS':
      case 'ADDITEMS': {
        const items = op.info.name === 'APPEND' ? this.popN(1) : op.info.name === 'SETITEM' ? this.popN(2) : this.popMark();
        if (!items) return `${op.info.name} without its values`;
        const target = s[s.length - 1];
        if (s.length <= this.floor() || !target) return `${op.info.name} on an empty stack`;
        if (op.info.name === 'SETITEMS' && items.length % 2 !== 0) return 'an odd number of items for SETITEMS';
        if (items.length > 0 && (target.kind === 'str' || target.kind === 'bytes' || target.kind === 'int' || target.kind === 'scalar')) return `${op.info.name} on ${describeSym(target)}`;
        if (target.kind === 'container') target.items.push(...items);
        else if (target.kind === 'global') {
          this.finding('dangerous', 'pickle/mutates-global', `${op.info.name} at byte ${at} changes ${target.name} itself (a module or class), not an object`);
        }
        return;
      }
      case 'GET':
      case 'BINGET':
      case 'LONG_BINGET': {
        const index = op.info.name === 'GET' ? pyIndex(arg as string) : (arg as number);
        if (index === undefined) return `${JSON.stringify(cString(arg as string))} is not a memo index`;
        const value = this.memo.get(index);
        if (!value) return `memo entry ${index} is read before it is written`;
        s.push(value);
        return;
      }
      case 'PUT':
      case 'BINPUT':
      case 'LONG_BINPUT':
      case 'MEMOIZE': {
        if (s.length <= this.floor()) return 'memoizing an empty stack';
        const index = op.info.name === 'MEMOIZE' ? this.memo.size : op.info.name === 'PUT' ? pyIndex(arg as string) : (arg as number);
        if (index === undefined || index < 0) return `${JSON.stringify(cString(String(arg)))} is not a memo index`;
        this.memo.set(index, s[s.length - 1]!);
        return;
      }
      case 'GLOBAL': {
        const [module, name] = arg as readonly [string, string];
        if (module === '' || name === '') return 'an empty GLOBAL line';
        const problem = cannotImport(module);
        if (problem) return problem;
        s.push(this.global(module, name, at));
        return;
      }
      case 'STACK_GLOBAL': {
        const [module, name] = this.popN(2) ?? [];
        if (!module || !name) return 'STACK_GLOBAL needs two values';
        if ([module, name].some((v) => v.kind === 'bytes' || v.kind === 'int' || v.kind === 'container' || v.kind === 'scalar')) return 'STACK_GLOBAL needs two strings';
        if (module.kind === 'str' && name.kind === 'str') {
          const problem = cannotImport(module.value);
          if (problem) return problem;
          s.push(this.global(module.value, name.value, at));
        } else {
          this.acted = true;
          this.finding(
            'dangerous',
            'pickle/computed-global',
            `STACK_GLOBAL at byte ${at} imports a name that is computed while loading (from ${describeSym(module)} and ${describeSym(name)}), so it cannot be checked: a way to hide what is imported`,
          );
          s.push({ kind: 'global', name: '<computed>', at });
        }
        return;
      }
      case 'INST': {
        const [module, name] = arg as readonly [string, string];
        // CPython looks for the MARK first, then reads the names as ASCII.
        const args = this.popMark();
        if (!args) return 'INST without a MARK';
        if (module === '' || name === '') return 'an empty INST line';
        if (!/^[\x00-\x7f]*$/.test(module + name)) return 'INST names that are not ASCII';
        const problem = cannotImport(module);
        if (problem) return problem;
        const callee = this.global(module, name, at);
        s.push(this.call(callee, args, at));
        return;
      }
      case 'OBJ': {
        const items = this.popMark();
        if (!items || items.length === 0) return 'OBJ without a class';
        s.push(this.call(items[0]!, items.slice(1), at));
        return;
      }
      case 'REDUCE': {
        const [callee, args] = this.popN(2) ?? [];
        if (!callee || !args) return 'REDUCE needs a callable and its arguments';
        s.push(this.call(callee, args.kind === 'container' ? args.items : [args], at));
        return;
      }
      case 'NEWOBJ': {
        const [cls, args] = this.popN(2) ?? [];
        if (!cls || !args) return 'NEWOBJ needs a class and its arguments';
        s.push(this.call(cls, args.kind === 'container' ? args.items : [args], at));
        return;
      }
      case 'NEWOBJ_EX': {
        const [cls, args, kwargs] = this.popN(3) ?? [];
        if (!cls || !args || !kwargs) return 'NEWOBJ_EX needs a class, arguments and keyword arguments';
        s.push(this.call(cls, [...(args.kind === 'container' ? args.items : [args]), kwargs], at));
        return;
      }
      case 'BUILD': {
        const [state] = this.popN(1) ?? [];
        const target = s[s.length - 1];
        if (!state || !target || s.length <= this.floor()) return 'BUILD needs an object and its state';
        if (target.kind === 'global') {
          this.finding(
            'dangerous',
            'pickle/mutates-global',
            `BUILD at byte ${at} sets attributes of ${target.name} itself (a module or class), not of an object: it can replace functions other code calls`,
          );
        }
        this.nested(state, false);
        return;
      }
      case 'PERSID':
        // pickle.load fails here; loaders with a persistent_load (torch) read on, with the id decoded as ASCII.
        if (!/^[\x00-\x7f]*$/.test(arg as string)) return 'a PERSID id that is not ASCII';
        s.push(VALUE);
        return;
      case 'BINPERSID':
        if (!this.popN(1)) return 'BINPERSID needs a value';
        s.push(VALUE);
        return;
      case 'EXT1':
      case 'EXT2':
      case 'EXT4':
        if ((arg as number) <= 0) return 'an extension code <= 0';
        this.acted = true;
        this.finding('suspicious', 'pickle/extension-code', `${op.info.name} at byte ${at} names a global through the copyreg extension registry, which cannot be checked`);
        s.push({ kind: 'global', name: `<extension ${String(arg)}>`, at });
        return;
      default:
        return `${op.info.name} is not understood`;
    }
  }

  /** A global: judged against the allowlist and the denylist, reported when it is not safe. */
  private global(rawModule: string, rawName: string, at: number): Sym {
    this.acted = true;
    const [module, name] = normalizeGlobal(rawModule, rawName);
    const qualified = `${module}.${name}`;
    const verdict = classifyGlobal(module, name);
    if (verdict === 'dangerous') {
      this.finding('dangerous', 'pickle/dangerous-global', `imports ${qualified} (byte ${at}), which runs code or touches the system when the file is loaded`);
    } else if (verdict === 'unknown' && !this.options.expected?.(qualified)) {
      this.finding('suspicious', 'pickle/unknown-global', `imports ${qualified} (byte ${at}), which is not a known data type: loading the file runs whatever that name does`);
    }
    return { kind: 'global', name: qualified, at };
  }

  /** A call of `callee`: what it reaches, and pickles passed to it. */
  private call(callee: Sym, args: Sym[], at: number): Sym {
    if (callee.kind === 'call') {
      this.finding('suspicious', 'pickle/indirect-call', `the result of a call made at byte ${callee.at} is called again at byte ${at} (a gadget chain such as getattr(...)(...))`);
    } else if (callee.kind !== 'global') {
      this.finding('suspicious', 'pickle/indirect-call', `byte ${at} calls ${describeSym(callee)}, which is not an imported name`);
    }
    const loader = callee.kind === 'global' && NESTED_LOADERS.has(callee.name);
    for (const a of args) this.nested(a, loader);
    return { kind: 'call', callee, at };
  }

  /** Bytes (or latin-1 text) that hold a pickle: analysed, at full severity when a loader unpickles them. */
  private nested(value: Sym, loaded: boolean): void {
    const depth = this.options.depth ?? 0;
    if (depth >= MAX_NESTED_PICKLES) return;
    const bytes = value.kind === 'bytes' ? value.value : value.kind === 'str' && (loaded || /^\x80[\x00-\x05]/.test(value.value)) ? latin1(value.value) : undefined;
    if (value.kind === 'container') for (const item of value.items) this.nested(item, loaded);
    if (!bytes) return;
    // What a loader unpickles is analysed whatever it looks like; data only when it starts like a binary pickle.
    if (!loaded && (bytes.length < MIN_NESTED_PICKLE_BYTES || bytes[0] !== 0x80 || (bytes[1] ?? 99) > HIGHEST_PROTOCOL)) return;
    const where = `${this.where} (pickle nested at byte ${value.kind === 'bytes' ? value.at : this.base + this.op.pos})`;
    const inner: Finding[] = [];
    analyzePickles(bytes, { where, report: (f) => inner.push(f), expected: this.options.expected, depth: depth + 1 }, 1);
    for (const f of inner) {
      if (loaded || f.severity === 'info') this.options.report(f);
      else if (f.severity === 'dangerous' || f.severity === 'suspicious') {
        // Inert unless the application unpickles this field itself.
        this.options.report({ ...f, severity: 'suspicious', rule: 'pickle/nested-pickle', message: `a pickle stored as data ${f.message}; it runs only if the program unpickles this field` });
      }
    }
  }

  private floor(): number {
    return this.marks.length > 0 ? this.marks[this.marks.length - 1]! : 0;
  }

  private popN(n: number): Sym[] | undefined {
    if (this.stack.length - this.floor() < n) return undefined;
    return this.stack.splice(this.stack.length - n, n);
  }

  private popMark(): Sym[] | undefined {
    const at = this.marks.pop();
    return at === undefined ? undefined : this.stack.splice(at);
  }

  private finding(severity: Finding['severity'], rule: string, message: string): void {
    this.options.report({ severity, rule, message, location: `${this.where}@${this.base + (this.op?.pos ?? 0)}` });
  }

  private stop(kind: StopKind, rule: string, message: string, pos: number, truncated = false): RunResult {
    this.options.report({ severity: 'suspicious', rule, message, location: `${this.where}@${this.base + pos}` });
    return { end: pos, stop: kind, acted: this.acted, truncated, value: undefined };
  }
}

function describeSym(s: Sym): string {
  switch (s.kind) {
    case 'str':
      return JSON.stringify(s.value.length > 40 ? s.value.slice(0, 40) + '…' : s.value);
    case 'call':
      return `the result of a call made at byte ${s.at}`;
    case 'global':
      return s.name;
    case 'int':
      return `the integer ${s.value}`;
    case 'bytes':
      return `${s.value.length} bytes`;
    default:
      return 'a value';
  }
}

/**
 * An opcode whose argument exceeds one of our limits (MAX_STRING_BYTES, MAX_LONG_BYTES, MAX_LINE_BYTES):
 * would CPython fail on it too? `truncated` when its declared length or its line runs past the end,
 * `cpython` when the part read already makes CPython fail (a module name or a number it cannot read),
 * `unknown` otherwise.
 */
function pastLimit(bytes: Uint8Array, pos: number): 'truncated' | 'cpython' | 'unknown' {
  const info = OPCODES[bytes[pos]!];
  if (!info) return 'unknown';
  const width = { bytes1: 1, long1: 1, bytes4: 4, long4: 4, bytes8: 8 }[info.arg as string];
  if (width !== undefined) {
    let n = 0;
    for (let i = width - 1; i >= 0; i--) n = n * 256 + (bytes[pos + 1 + i] ?? 0);
    return pos + 1 + width + n > bytes.length ? 'truncated' : 'unknown';
  }
  if (bytes.indexOf(0x0a, pos + 1) < 0) return 'truncated';
  const head = new TextDecoder('latin1').decode(bytes.subarray(pos + 1, pos + 1 + MAX_LINE_BYTES)).split('\n')[0]!;
  if (info.arg === 'stringnl_pair' && !/^[\p{L}\p{M}\p{N}\p{Pc}\-.]*$/u.test(head)) return 'cpython';
  if ((info.arg === 'decimalnl' || info.arg === 'floatnl') && !/^[\s+\-.0-9a-zA-Z_]*$/.test(head)) return 'cpython';
  if (info.arg === 'stringnl' && info.name === 'STRING' && head[0] !== "'" && head[0] !== '"') return 'cpython';
  return 'unknown';
}

/** A NUL ends the text that C's strtol and PyLong_FromString read. */
function cString(text: string): string {
  const nul = text.indexOf('\0');
  return nul < 0 ? text : text.slice(0, nul);
}

/** CPython's INT (strtol base 0, then int(text, 0)) and LONG (int(text, 0)) arguments; a little lenient. */
function pyInt(text: string, strtol: boolean): boolean {
  const t = cString(text);
  if (strtol && /^[ \t\n\v\f\r]*[+-]?(0[xX][0-9a-fA-F]+|\d+)$/.test(t)) return true;
  return /^[ \t\n\v\f\r]*[+-]?(0[xX]_?[0-9a-fA-F]+(_[0-9a-fA-F]+)*|0[oO]_?[0-7]+(_[0-7]+)*|0[bB]_?[01]+(_[01]+)*|\d+(_\d+)*)[ \t\n\v\f\r]*$/.test(t);
}

/** CPython's FLOAT argument (PyOS_string_to_double: no spaces; a float that overflows is an error). */
function cFloat(text: string): boolean {
  const t = cString(text);
  if (/^[+-]?(inf|infinity|nan)$/i.test(t)) return true;
  return /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(t) && Number.isFinite(Number(t));
}

/** A GET or PUT index (int(text, 10)), or undefined. */
function pyIndex(text: string): number | undefined {
  const t = cString(text);
  if (!/^[ \t\n\v\f\r]*[+-]?\d+(_\d+)*[ \t\n\v\f\r]*$/.test(t)) return undefined;
  return Number(t.trim().replaceAll('_', ''));
}

/**
 * A protocol-0 STRING argument as CPython reads it: quoted with ' or " at both ends (nothing
 * stripped), then backslash escapes decoded (a trailing backslash or a bad \x escape is an error).
 * Undefined when CPython refuses it.
 */
function pyStringLiteral(raw: string): string | undefined {
  const q = raw[0];
  if (raw.length < 2 || (q !== "'" && q !== '"') || raw[raw.length - 1] !== q) return undefined;
  const body = raw.slice(1, -1);
  const simple: Record<string, string> = { '\n': '', '\\': '\\', "'": "'", '"': '"', a: '\x07', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v' };
  let out = '';
  for (let i = 0; i < body.length; i++) {
    const c = body[i]!;
    if (c !== '\\') {
      out += c;
      continue;
    }
    const e = body[i + 1];
    if (e === undefined) return undefined;
    if (e === 'x') {
      const hex = body.slice(i + 2, i + 4);
      if (!/^[0-9a-fA-F]{2}$/.test(hex)) return undefined;
      out += String.fromCharCode(parseInt(hex, 16));
      i += 3;
    } else if (/[0-7]/.test(e)) {
      const oct = /^[0-7]{1,3}/.exec(body.slice(i + 1))![0];
      out += String.fromCharCode(parseInt(oct, 8) & 0xff);
      i += oct.length;
    } else if (e in simple) {
      out += simple[e];
      i += 1;
    } else {
      out += c + e;
      i += 1;
    }
  }
  return out;
}

/** Why CPython's find_class cannot import `module`, or undefined when it may. */
function cannotImport(module: string): string | undefined {
  if (importableModule(module)) return undefined;
  return `${JSON.stringify(module.length > 60 ? module.slice(0, 60) + '…' : module)} is not a module name CPython can import`;
}

function latin1(s: string): Uint8Array {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i) & 0xff;
  return out;
}
