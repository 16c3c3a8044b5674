import { classifyGlobal, normalizeGlobal } from '../formats/pickle/allowlist.js';
import { readOp, type Op } from '../formats/pickle/disassemble.js';
import { PickleError } from '../formats/pickle/errors.js';
import { MAX_MARK_DEPTH, MAX_MEMO, MAX_OPS, MAX_STACK } from '../formats/pickle/limits.js';
import { HIGHEST_PROTOCOL } from '../formats/pickle/opcodes.js';
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
  | { kind: 'container'; items: Sym[] };

const VALUE: Sym = { kind: 'value' };

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
  /** The stream could not be fully decoded (truncated, invalid opcode, …). */
  malformed: boolean;
  /** The literal integer the first pickle returns, if it is one (the legacy torch magic number). */
  firstValue: number | bigint | undefined;
}

/**
 * Analyses the pickle at the start of `bytes`, then any that follow it (several pickles in one
 * stream are each loaded by a loader that calls `pickle.load` repeatedly), for at most `maxPickles`.
 */
export function analyzePickles(bytes: Uint8Array, options: PickleAnalysisOptions, maxPickles = MAX_STACKED_PICKLES): PickleStreamResult {
  let pos = 0;
  let pickles = 0;
  let firstValue: number | bigint | undefined;
  while (pos < bytes.length && pickles < maxPickles) {
    const r = new Analysis(bytes, options).run(pos);
    if (pickles === 0) firstValue = r.value;
    pickles++;
    if (r.malformed) return { end: r.end, pickles, malformed: true, firstValue };
    pos = r.end;
    if (pos < bytes.length && !looksLikePickle(bytes, pos)) break;
  }
  return { end: pos, pickles, malformed: false, firstValue };
}

/** Does a pickle plausibly start here (PROTO, or an opcode that begins protocol 0/1 pickles)? */
export function looksLikePickle(bytes: Uint8Array, at: number): boolean {
  const b = bytes[at];
  if (b === undefined) return false;
  if (b === 0x80) return (bytes[at + 1] ?? 99) <= HIGHEST_PROTOCOL;
  return '(]}cl)NKJIVSUXdGFLPi'.includes(String.fromCharCode(b)) && bytes.length - at >= 2;
}

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

  run(start: number): { end: number; malformed: boolean; value: number | bigint | undefined } {
    let pos = start;
    let frameEnd = -1;
    let protoSeen = false;
    for (let count = 0; ; count++) {
      if (count >= MAX_OPS) return this.stop('pickle/limit', `more than ${MAX_OPS} opcodes`, pos);
      if (frameEnd >= 0 && pos === frameEnd) frameEnd = -1;
      let op: Op;
      try {
        op = readOp(this.bytes, pos, this.where);
      } catch (e) {
        const detail = e instanceof PickleError ? e.detail : String(e);
        return this.stop('pickle/malformed', `the pickle cannot be decoded past byte ${this.base + pos} (${detail}); a loader runs everything before this point`, pos);
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
          analyzePickles(op.arg, { ...this.options, where: `${this.where} (opcodes hidden at byte ${hiddenAt})`, base: hiddenAt, depth: (this.options.depth ?? 0) + 1 }, 1);
        }
        frameEnd = -1;
      }
      pos = op.end;
      const name = op.info.name;
      if (name === 'FRAME') {
        frameEnd = typeof op.arg === 'number' && op.arg > 0 ? op.end + op.arg : -1;
        if (frameEnd > this.bytes.length) return this.stop('pickle/malformed', `a FRAME at byte ${this.base + op.pos} runs past the end of the stream`, pos);
        continue;
      }
      if (name === 'PROTO') {
        if (protoSeen || op.pos !== start) this.finding('suspicious', 'pickle/misplaced-proto', `PROTO at byte ${this.base + op.pos} is not the pickle's first opcode`);
        protoSeen = true;
        if ((op.arg as number) > HIGHEST_PROTOCOL) return this.stop('pickle/malformed', `unknown protocol ${String(op.arg)}`, pos);
        continue;
      }
      if (name === 'STOP') {
        const top = this.stack[this.stack.length - 1];
        return { end: pos, malformed: false, value: top?.kind === 'int' ? top.value : undefined };
      }
      const problem = this.step(op);
      if (problem) return this.stop('pickle/malformed', `${problem} at byte ${this.base + op.pos} (${op.info.name}); a loader fails here, after running everything before`, pos);
      if (this.stack.length > MAX_STACK || this.memo.size > MAX_MEMO || this.marks.length > MAX_MARK_DEPTH) {
        return this.stop('pickle/limit', `the stream exceeds the analysis limits (stack, memo or nesting) at byte ${this.base + op.pos}: resource exhaustion`, pos);
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
      case 'FLOAT':
      case 'BINFLOAT':
        s.push(VALUE);
        return;
      case 'INT':
      case 'LONG': {
        const text = (arg as string).trim().replace(/L$/, '');
        s.push(/^[+-]?\d+$/.test(text) && text !== '00' && text !== '01' ? { kind: 'int', value: BigInt(text) } : VALUE);
        return;
      }
      case 'BININT':
      case 'BININT1':
      case 'BININT2':
      case 'LONG1':
      case 'LONG4':
        s.push({ kind: 'int', value: arg as number | bigint });
        return;
      case 'STRING':
        s.push({ kind: 'str', value: unquote(arg as string) });
        return;
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
        if (target.kind === 'container') target.items.push(...items);
        else if (target.kind === 'global') {
          this.finding('dangerous', 'pickle/mutates-global', `${op.info.name} at byte ${at} changes ${target.name} itself (a module or class), not an object`);
        }
        return;
      }
      case 'GET':
      case 'BINGET':
      case 'LONG_BINGET': {
        const index = op.info.name === 'GET' ? Number((arg as string).trim()) : (arg as number);
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
        const index = op.info.name === 'MEMOIZE' ? this.memo.size : op.info.name === 'PUT' ? Number((arg as string).trim()) : (arg as number);
        this.memo.set(index, s[s.length - 1]!);
        return;
      }
      case 'GLOBAL': {
        const [module, name] = arg as readonly [string, string];
        s.push(this.global(module, name, at));
        return;
      }
      case 'STACK_GLOBAL': {
        const [module, name] = this.popN(2) ?? [];
        if (!module || !name) return 'STACK_GLOBAL needs two values';
        if (module.kind === 'str' && name.kind === 'str') {
          s.push(this.global(module.value, name.value, at));
        } else {
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
        const args = this.popMark();
        if (!args) return 'INST without a MARK';
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
        s.push(VALUE);
        return;
      case 'BINPERSID':
        if (!this.popN(1)) return 'BINPERSID needs a value';
        s.push(VALUE);
        return;
      case 'EXT1':
      case 'EXT2':
      case 'EXT4':
        this.finding('suspicious', 'pickle/extension-code', `${op.info.name} at byte ${at} names a global through the copyreg extension registry, which cannot be checked`);
        s.push({ kind: 'global', name: `<extension ${String(arg)}>`, at });
        return;
      default:
        return `${op.info.name} is not understood`;
    }
  }

  /** A global: judged against the allowlist and the denylist, reported when it is not safe. */
  private global(rawModule: string, rawName: string, at: number): Sym {
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
    const bytes = value.kind === 'bytes' ? value.value : value.kind === 'str' && /^\x80[\x00-\x05]/.test(value.value) ? latin1(value.value) : undefined;
    if (value.kind === 'container') for (const item of value.items) this.nested(item, loaded);
    if (!bytes || bytes.length < MIN_NESTED_PICKLE_BYTES || !looksLikePickle(bytes, 0) || bytes[0] !== 0x80) return;
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

  private stop(rule: string, message: string, pos: number): { end: number; malformed: boolean; value: undefined } {
    this.options.report({ severity: 'suspicious', rule, message, location: `${this.where}@${this.base + pos}` });
    return { end: pos, malformed: true, value: undefined };
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

/** A protocol-0 STRING literal's text, quotes removed (escapes kept: only names matter here). */
function unquote(text: string): string {
  const t = text.trim();
  return (t.startsWith("'") && t.endsWith("'")) || (t.startsWith('"') && t.endsWith('"')) ? t.slice(1, -1) : t;
}

function latin1(s: string): Uint8Array {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i) & 0xff;
  return out;
}
