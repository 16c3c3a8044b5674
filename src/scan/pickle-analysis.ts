import { classifyGlobal, normalizeGlobal } from '../formats/pickle/allowlist.js';
import { readOp, type Op } from '../formats/pickle/disassemble.js';
import { PickleError } from '../formats/pickle/errors.js';
import { MAX_MARK_DEPTH, MAX_MEMO, MAX_OPS, MAX_STACK } from '../formats/pickle/limits.js';
import { HIGHEST_PROTOCOL, OPCODES } from '../formats/pickle/opcodes.js';
import type { Finding } from '../formats/findings.js';

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
/**
 * Bytes of all nested pickles analysed for one top-level stream (each distinct content once):
 * bounds the work of pickles nested in pickles (a nested pickle is at most as long as its parent,
 * so without a bound four levels could multiply the work by the file's size four times).
 */
export const MAX_NESTED_PICKLE_BYTES = 1 << 28;
/**
 * Strings kept whole in the model of the stack: longer ones keep their first characters (a module or
 * attribute name is never this long; a pickle passed to a loader as text is read from the stream).
 * Bounds the memory of millions of memoized strings.
 */
export const MAX_SYM_STRING = 1 << 12;

/**
 * The model of a value. `is` follows what a call returns when the callee returns (part of) its
 * argument: `restore_type_tag(argparse.Namespace, …)` *is* the class `argparse.Namespace`.
 */
type Sym =
  | { kind: 'str'; value: string; src?: Uint8Array; enc?: 'latin1' }
  | { kind: 'bytes'; src: Uint8Array; start: number; end: number; at: number }
  | { kind: 'int'; value: number | bigint }
  | { kind: 'global'; name: string; at: number; module?: string; attr?: string; getattr?: true; viaGetattr?: 'judged' }
  | { kind: 'call'; callee: Sym; args: readonly Sym[]; at: number; is?: Sym }
  | { kind: 'value' }
  /** None, a bool or a float: never a string, a container or a callable. */
  | { kind: 'scalar' }
  /** Bytes too short to hold a pickle (kept as one shared value: memoizing millions costs nothing). */
  | { kind: 'shortbytes' }
  | { kind: 'container'; items: Sym[] };

const VALUE: Sym = { kind: 'value' };
const SCALAR: Sym = { kind: 'scalar' };
const SHORT_BYTES: Sym = { kind: 'shortbytes' };
const SMALL_INTS: Sym[] = Array.from({ length: 256 }, (_, i) => ({ kind: 'int', value: i }));
const intSym = (v: number | bigint): Sym => (typeof v === 'number' && v >= 0 && v < 256 && Number.isInteger(v) ? SMALL_INTS[v]! : { kind: 'int', value: v });

/**
 * Callables that return (part of) an argument, so that what a value *is* survives them: index of
 * the argument returned. A class passed through one of them is still the class.
 */
const IDENTITY_CALLS: ReadonlyMap<string, number> = new Map([
  ['torch.jit._pickle.restore_type_tag', 0],
  // torch/jit/_pickle.py: `def build_intlist(data): return data` (and the other list builders).
  ['torch.jit._pickle.build_intlist', 0],
  ['torch.jit._pickle.build_tensorlist', 0],
  ['torch.jit._pickle.build_doublelist', 0],
  ['torch.jit._pickle.build_boollist', 0],
  // numpy 1.20–2.2: scalar(dtype('O'), obj) returns obj itself (deprecated, with a warning only).
  ['numpy.core.multiarray.scalar', 1],
  ['numpy._core.multiarray.scalar', 1],
  ['copy.copy', 0],
  ['copy.deepcopy', 0],
  ['typing.cast', 1],
  ['builtins.staticmethod', 0],
  ['builtins.classmethod', 0],
  ['functools.wraps', 0],
  ['functools.update_wrapper', 0],
  ['builtins.next', -1],
  ['builtins.iter', 0],
  ['builtins.min', -1],
  ['builtins.max', -1],
]);
/** Calls that set attributes of their first argument: on a class or module, they change code other code runs. */
const SETATTR_CALLS: ReadonlySet<string> = new Set(['builtins.setattr', 'builtins.object.__setattr__', 'builtins.type.__setattr__', 'builtins.delattr', 'builtins.vars']);

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
  /** Internal: state shared with the analyses of nested pickles (each distinct nested pickle is analysed once). */
  shared?: Shared;
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
 *
 * Each pickle is read the way CPython's C unpickler reads it from memory (`pickle.loads`: frames are
 * only length checks), which also covers the pure-Python unpickler (it reads the same opcodes, and
 * stops earlier on a frame it dislikes); when the stream's frames would make the C unpickler read
 * it differently from a file object without `peek` (`torch.load`, `pickle.load(io.BytesIO(…))`: a
 * read that does not fit in what remains of a frame skips that remainder), that reading is analysed
 * too. Findings made before the analysis fails in any way are kept.
 */
export function analyzePickles(bytes: Uint8Array, options: PickleAnalysisOptions, maxPickles = MAX_STACKED_PICKLES): PickleStreamResult {
  const shared = options.shared ?? newShared();
  options = { ...options, shared };
  let pos = 0;
  let pickles = 0;
  let firstValue: number | bigint | undefined;
  let acted = false;
  while (pos < bytes.length && pickles < maxPickles) {
    const found: Finding[] = [];
    const seen = new Set<string>();
    const collect = (f: Finding): void => {
      const key = `${f.severity}|${f.rule}|${f.location}|${f.message}`;
      if (!seen.has(key)) {
        seen.add(key);
        found.push(f);
      }
    };
    const linear = new Analysis(bytes, { ...options, report: collect }, 'memory');
    const r = linear.safeRun(pos);
    let anyActed = r.acted;
    if (linear.divergence !== undefined) {
      // The C unpickler reading from a file object (torch.load) reads this stream differently: analyse that reading too.
      collect({
        severity: 'dangerous',
        rule: 'pickle/frame-mismatch',
        message: `the FRAME read at byte ${(options.base ?? 0) + linear.divergence} does not fit what remains of the frame before it: CPython's C unpickler reading from a file (torch.load) skips bytes there that pickle.loads reads, so the two run different opcodes, a way to hide a payload`,
        location: `${options.where}@${(options.base ?? 0) + linear.divergence}`,
      });
      const other = new Analysis(bytes, { ...options, report: collect }, 'file').safeRun(pos);
      anyActed ||= other.acted;
    }
    if (r.stop === 'cpython' && !anyActed) {
      // CPython stops here before importing anything: these bytes are not a pickle that does anything.
      const reason = found.find((f) => f.rule === 'pickle/malformed')?.message.replace(/; a loader .*$/, '');
      return { end: pos, pickles, malformed: false, firstValue, acted, inert: pickles === 0, inertReason: reason, truncated: r.truncated };
    }
    for (const f of found) options.report(f);
    acted ||= anyActed;
    if (pickles === 0) firstValue = r.value;
    pickles++;
    if (r.stop !== undefined) return { end: r.end, pickles, malformed: true, firstValue, acted, inert: false, truncated: r.truncated };
    pos = r.end;
  }
  return { end: pos, pickles, malformed: false, firstValue, acted, inert: false, truncated: false };
}

/** State shared by the analyses of one top-level stream and the pickles nested in it. */
interface Shared {
  /** Nested pickles analysed, by content: FNV-1a hash → entries (compared byte for byte). */
  readonly nested: Map<number, { bytes: Uint8Array; findings: Finding[]; reported: Set<string> }[]>;
  /** Bytes of nested pickles analysed so far (MAX_NESTED_PICKLE_BYTES). */
  nestedBytes: number;
}

function newShared(): Shared {
  return { nested: new Map(), nestedBytes: 0 };
}

function fnv1a(bytes: Uint8Array): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < bytes.length; i++) h = Math.imul(h ^ bytes[i]!, 0x01000193);
  return h >>> 0;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
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

/**
 * How the stream is read. `memory`: as `pickle.loads` reads it (the C unpickler on a bytes object,
 * where a FRAME only checks that its bytes are there; the pure-Python unpickler reads the same
 * opcodes or stops earlier). `file`: as the C unpickler reads a file object without `peek`
 * (`torch.load`'s BytesIO): a FRAME's bytes are buffered, and a fixed-size read or a line that does
 * not fit in what remains of the buffer drops that remainder and reads on after it (Modules/_pickle.c,
 * _Unpickler_Read and _Unpickler_Readline); BINBYTES and BYTEARRAY8 read through the remainder.
 */
type ReadMode = 'memory' | 'file';

/** Opcodes whose data is read with _Unpickler_ReadInto: through what remains of the buffer, then from the file. */
const READ_THROUGH: ReadonlySet<string> = new Set(['BINBYTES', 'SHORT_BINBYTES', 'BINBYTES8', 'BYTEARRAY8']);

/** How an opcode reads its argument, in order: fixed-size reads, reads through the buffer, lines. */
type ReadStep = { kind: 'read' | 'into'; len: number } | { kind: 'line' };

class Analysis {
  private stack: Sym[] = [];
  private readonly marks: number[] = [];
  /** The memo: dense indices in an array (MEMOIZE, PUT 0, 1, 2, …), the others in a map. */
  private readonly memoArr: Sym[] = [];
  private readonly memoMap = new Map<number | string, Sym>();
  private memoLen = 0;
  private readonly where: string;
  private readonly base: number;
  private op!: Op;
  /** Containers already walked for nested pickles (as data, as loader arguments), with the items walked. */
  private readonly walked: [Map<Sym, number>, Map<Sym, number>] = [new Map(), new Map()];
  /** In `memory` mode: where a C unpickler reading a file would first read differently. */
  divergence: number | undefined;
  /** End of the C file unpickler's frame buffer (-1: empty), tracked to find `divergence` or to read in `file` mode. */
  private cEnd = -1;
  private readonly shared: Shared;
  private deepReported = false;

  constructor(
    private readonly bytes: Uint8Array,
    private readonly options: PickleAnalysisOptions,
    private readonly mode: ReadMode,
  ) {
    this.where = options.where;
    this.base = options.base ?? 0;
    this.shared = options.shared ?? newShared();
  }

  /** Imports reached (an import runs the module's code, and gives the pickle a callable). */
  private acted = false;
  private lastPos = 0;

  /** Runs the analysis; a failure of the analysis itself is a finding, and what was found before it is kept. */
  safeRun(start: number): RunResult {
    try {
      return this.run(start);
    } catch (e) {
      const detail = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
      return this.stop('limit', 'pickle/analysis-failed', `the analysis could not go past byte ${this.base + this.lastPos} (${detail.slice(0, 200)}); what lies beyond was not checked`, this.lastPos);
    }
  }

  private run(start: number): RunResult {
    let pos = start;
    let frameEnd = -1;
    let protoSeen = false;
    for (let count = 0; ; count++) {
      this.lastPos = pos;
      if (count >= MAX_OPS) return this.stop('limit', 'pickle/limit', `more than ${MAX_OPS} opcodes (MAX_OPS): the rest was not checked`, pos);
      if (frameEnd >= 0 && pos === frameEnd) frameEnd = -1;
      let op: Op;
      try {
        op = this.mode === 'file' ? this.readFileOp(pos) : readOp(this.bytes, pos, this.where);
      } catch (e) {
        // Anything but a decoding error is a failure of the analysis itself (safeRun reports it, keeping what was found).
        if (!(e instanceof PickleError)) throw e;
        const detail = e.detail;
        // Our limits on lengths are not CPython's: past one, what CPython would do is unknown, unless it fails anyway.
        const past = e.code === 'PickleLimit' ? pastLimit(this.bytes, pos) : 'cpython';
        const kind: StopKind = past === 'unknown' ? 'limit' : 'cpython';
        const truncated = e.code === 'PickleTruncated' || past === 'truncated';
        return this.stop(kind, kind === 'limit' ? 'pickle/limit' : 'pickle/malformed', `the pickle cannot be decoded past byte ${this.base + pos} (${detail}); a loader runs everything before this point`, pos, truncated);
      }
      this.op = op;
      if (this.mode === 'memory') {
        if (this.divergence === undefined) this.trackFileReading(op);
        if (frameEnd >= 0 && op.end > frameEnd) {
          this.finding(
            'dangerous',
            'pickle/frame-mismatch',
            `${op.info.name} at byte ${this.base + op.pos} runs past the end of its FRAME (byte ${this.base + frameEnd}): CPython's C and pure-Python unpicklers read this stream differently, a way to hide opcodes from scanners`,
          );
          // What the straddling opcode swallows is analysed as opcodes too (more than CPython runs, never less).
          if (op.arg instanceof Uint8Array && op.arg.length > 0 && (this.options.depth ?? 0) < MAX_NESTED_PICKLES) {
            const hiddenAt = this.base + op.end - op.arg.length;
            const hidden = analyzePickles(op.arg, { ...this.options, where: `${this.where} (opcodes hidden at byte ${hiddenAt})`, base: hiddenAt, depth: (this.options.depth ?? 0) + 1, shared: this.shared }, 1);
            this.acted ||= hidden.acted;
          }
          frameEnd = -1;
        }
      }
      pos = op.end;
      const name = op.info.name;
      if (name === 'FRAME') {
        if (typeof op.arg === 'bigint') return this.stop('cpython', 'pickle/malformed', `a FRAME at byte ${this.base + op.pos} runs past the end of the stream`, pos, true);
        const length = op.arg as number;
        if (this.mode === 'file') {
          // _Unpickler_Read(frame_len), then rewind: a frame that fits what remains of the buffer changes nothing;
          // otherwise the remainder is dropped and the frame is read from the bytes after it.
          const rest = this.cEnd > pos ? this.cEnd - pos : 0;
          if (length > rest) {
            if (rest > 0) pos = this.cEnd;
            if (pos + length > this.bytes.length) return this.stop('cpython', 'pickle/malformed', `a FRAME at byte ${this.base + op.pos} runs past the end of the stream`, pos, true);
            this.cEnd = pos + length;
          }
          continue;
        }
        frameEnd = length > 0 ? op.end + length : -1;
        if (op.end + length > this.bytes.length) return this.stop('cpython', 'pickle/malformed', `a FRAME at byte ${this.base + op.pos} runs past the end of the stream`, pos, true);
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
      if (this.stack.length > MAX_STACK || this.memoLen > MAX_MEMO || this.marks.length > MAX_MARK_DEPTH) {
        const which = this.stack.length > MAX_STACK ? `MAX_STACK, ${MAX_STACK} values` : this.memoLen > MAX_MEMO ? `MAX_MEMO, ${MAX_MEMO} memo entries` : `MAX_MARK_DEPTH, ${MAX_MARK_DEPTH} marks`;
        return this.stop('limit', 'pickle/limit', `the stream exceeds an analysis limit (${which}) at byte ${this.base + op.pos}: the rest was not checked`, pos);
      }
    }
  }

  /** The reads an opcode makes for its argument, in order (Modules/_pickle.c). */
  private static steps(op: Op, bytes: Uint8Array): ReadStep[] {
    const a = op.info.arg;
    switch (a) {
      case 'none':
        return [];
      case 'uint1':
        return [{ kind: 'read', len: 1 }];
      case 'uint2':
        return [{ kind: 'read', len: 2 }];
      case 'int4':
      case 'uint4':
        return [{ kind: 'read', len: 4 }];
      case 'uint8':
      case 'float8':
        return [{ kind: 'read', len: 8 }];
      case 'long1':
      case 'long4':
      case 'bytes1':
      case 'bytes4':
      case 'bytes8': {
        const w = a === 'long1' || a === 'bytes1' ? 1 : a === 'bytes8' ? 8 : 4;
        let n = 0;
        for (let i = w - 1; i >= 0; i--) n = n * 256 + (bytes[op.pos + 1 + i] ?? 0);
        const into = READ_THROUGH.has(op.info.name);
        return [{ kind: 'read', len: w }, { kind: into ? 'into' : 'read', len: n }];
      }
      case 'stringnl_pair':
        return [{ kind: 'line' }, { kind: 'line' }];
      default:
        return [{ kind: 'line' }];
    }
  }

  /**
   * In `memory` mode: follows the C file unpickler's frame buffer over an opcode read linearly, and
   * notes where it would first read differently (a read or line that does not fit what remains of
   * the buffer, a FRAME longer than that remainder).
   */
  private trackFileReading(op: Op): void {
    if (op.info.name !== 'FRAME') {
      // Fast paths: no buffer (reads come from the file in order), or the opcode lies inside it.
      if (this.cEnd < 0) return;
      if (this.cEnd >= op.end) {
        if (this.cEnd === op.end) this.cEnd = -1;
        return;
      }
    }
    const split = this.fileSplit(op, this.bytes);
    if (split !== undefined) {
      this.divergence = op.pos;
      return;
    }
    if (op.info.name === 'FRAME' && typeof op.arg === 'number') {
      const rest = this.cEnd > op.end ? this.cEnd - op.end : 0;
      if (op.arg > rest) {
        if (rest > 0) this.divergence = op.pos;
        else this.cEnd = op.end + op.arg;
      }
    }
  }

  /**
   * Where, in an opcode read linearly at op.pos, the C file unpickler drops the rest of its buffer
   * (the offset of the read that does not fit), or undefined when it reads the same bytes. Updates
   * cEnd when it reads the same bytes.
   */
  private fileSplit(op: Op, bytes: Uint8Array): number | undefined {
    let at = op.pos;
    if (this.cEnd <= at) this.cEnd = -1; // the buffer is used up: reads come from the file, in order
    at += 1;
    for (const step of Analysis.steps(op, bytes)) {
      const rest = this.cEnd > at ? this.cEnd - at : 0;
      if (rest === 0) this.cEnd = -1;
      if (step.kind === 'line') {
        const nl = bytes.indexOf(0x0a, at);
        const end = nl < 0 ? bytes.length : nl + 1;
        if (rest > 0 && end > this.cEnd) return at;
        at = end;
      } else if (step.kind === 'read') {
        if (rest > 0 && step.len > rest) return at;
        at += step.len;
      } else {
        if (step.len >= rest) this.cEnd = -1;
        at += step.len;
      }
    }
    if (this.cEnd <= at) this.cEnd = -1;
    return undefined;
  }

  /**
   * In `file` mode: the opcode at `pos` as the C unpickler reads it from a file object. Where a read
   * does not fit what remains of the frame buffer, the remainder is skipped and the read continues
   * after it: the opcode is decoded from its first bytes joined to the bytes after the buffer.
   */
  private readFileOp(pos: number): Op {
    const saved = this.cEnd;
    let linear: Op | undefined;
    let failure: unknown;
    try {
      linear = readOp(this.bytes, pos, this.where);
    } catch (e) {
      failure = e;
    }
    if (linear) {
      const split = this.fileSplit(linear, this.bytes);
      if (split === undefined) return linear;
      return this.joined(pos, split, saved);
    }
    // A linear read that fails (truncated, …) may still succeed once the buffer's remainder is skipped.
    if (saved > pos + 1) {
      const info = OPCODES[this.bytes[pos]!];
      if (info && info.arg !== 'none') {
        try {
          return this.joined(pos, this.firstSplit(pos, saved), saved);
        } catch {
          // fall through: report the linear failure
        }
      }
    }
    this.cEnd = saved;
    throw failure;
  }

  /** For an opcode whose linear read fails: the offset of its first read that does not fit the buffer ending at cEnd. */
  private firstSplit(pos: number, cEnd: number): number {
    const info = OPCODES[this.bytes[pos]!]!;
    let at = pos + 1;
    const fake: Op = { info, pos, end: pos + 1, arg: undefined };
    for (const step of Analysis.steps(fake, this.bytes)) {
      if (step.kind === 'line') {
        const nl = this.bytes.indexOf(0x0a, at);
        if (nl < 0 || nl >= cEnd) return at;
        at = nl + 1;
      } else if (step.kind === 'read') {
        if (at + step.len > cEnd) return at;
        at += step.len;
      } else return at + step.len; // reads through
    }
    return at;
  }

  /** The opcode read from bytes [pos, split) joined to the bytes from cEnd on; the buffer is then empty. */
  private joined(pos: number, split: number, cEnd: number): Op {
    const head = this.bytes.subarray(pos, split);
    const tail = this.bytes.subarray(cEnd);
    // Decode from head + tail without copying the whole tail: grow the copy until the opcode fits.
    for (let take = Math.min(tail.length, 64); ; take = Math.min(tail.length, take * 4)) {
      const virt = new Uint8Array(head.length + take);
      virt.set(head, 0);
      virt.set(tail.subarray(0, take), head.length);
      try {
        const op = readOp(virt, 0, this.where);
        this.cEnd = -1;
        return { info: op.info, pos, end: cEnd + (op.end - head.length), arg: op.arg };
      } catch (e) {
        if (take >= tail.length || !(e instanceof PickleError) || e.code !== 'PickleTruncated') throw e;
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
        if (!pyFloat(arg as string)) return `${JSON.stringify(cString(arg as string).slice(0, 60))} is not a float`;
        s.push(SCALAR);
        return;
      case 'INT':
      case 'LONG': {
        const value = op.info.name === 'INT' ? intArgument(arg as string) : longArgument(arg as string);
        if (value === undefined) return `${JSON.stringify((arg as string).slice(0, 60))} is not an integer`;
        s.push(value === 'bool' ? SCALAR : intSym(value));
        return;
      }
      case 'BININT':
      case 'BININT1':
      case 'BININT2':
      case 'LONG1':
      case 'LONG4':
        s.push(intSym(arg as number | bigint));
        return;
      case 'STRING': {
        const value = pyStringLiteral(arg as string);
        if (value === undefined) return 'the STRING argument is not a quoted Python string CPython can decode';
        s.push(strSym(value, 'latin1'));
        return;
      }
      case 'UNICODE':
        s.push(strSym(arg as string));
        return;
      case 'BINSTRING':
      case 'SHORT_BINSTRING':
      case 'BINUNICODE':
      case 'SHORT_BINUNICODE':
      case 'BINUNICODE8': {
        const raw = arg as Uint8Array;
        // BINSTRING is decoded with the loader's encoding (latin-1 keeps every byte); BINUNICODE is UTF-8.
        const text = op.info.name.includes('UNICODE') ? utf8Lenient.decode(raw.subarray(0, MAX_SYM_STRING * 4)) : latin1Decoder.decode(raw.subarray(0, MAX_SYM_STRING));
        s.push(raw.length > MAX_SYM_STRING ? { kind: 'str', value: text.slice(0, MAX_SYM_STRING), src: raw } : strSym(text));
        return;
      }
      case 'BINBYTES':
      case 'SHORT_BINBYTES':
      case 'BINBYTES8':
      case 'BYTEARRAY8': {
        const raw = arg as Uint8Array;
        if (raw.length < MIN_NESTED_PICKLE_BYTES) {
          s.push(SHORT_BYTES);
          return;
        }
        // A view of the stream, not a copy and not a view object per value: millions of memoized byte strings stay cheap.
        const own = raw.buffer === this.bytes.buffer;
        const start = own ? raw.byteOffset - this.bytes.byteOffset : 0;
        s.push({ kind: 'bytes', src: own ? this.bytes : raw, start, end: start + raw.length, at: at + (op.end - op.pos) - raw.length });
        return;
      }
      case 'NEXT_BUFFER':
      case 'READONLY_BUFFER':
        if (op.info.name === 'READONLY_BUFFER') {
          if (s.length <= this.floor()) return 'READONLY_BUFFER on an empty stack';
          return;
        }
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
        if (items.length > 0 && (target.kind === 'str' || target.kind === 'bytes' || target.kind === 'shortbytes' || target.kind === 'int' || target.kind === 'scalar')) return `${op.info.name} on ${describeSym(target)}`;
        const what = resolve(target);
        if (what.kind === 'container') {
          for (const item of items) what.items.push(item); // never push(...items): a huge APPENDS overflows the call stack
        } else if (what.kind === 'global' && items.length > 0) {
          this.finding('dangerous', 'pickle/mutates-global', `${op.info.name} at byte ${at} changes ${what.name} itself (a module or class${what === target ? '' : ', returned by a call that passes it through'}), not an object`);
        }
        return;
      }
      case 'GET':
      case 'BINGET':
      case 'LONG_BINGET': {
        const index = op.info.name === 'GET' ? pyIndex(arg as string) : (arg as number);
        if (index === undefined) return `${JSON.stringify(cString(arg as string).slice(0, 60))} is not a memo index`;
        const value = this.memoGet(index);
        if (!value) return `memo entry ${index} is read before it is written`;
        s.push(value);
        return;
      }
      case 'PUT':
      case 'BINPUT':
      case 'LONG_BINPUT':
      case 'MEMOIZE': {
        if (op.info.name === 'PUT' && pyIndex(arg as string) === undefined) return `${JSON.stringify(cString(arg as string).slice(0, 60))} is not a memo index`;
        if (s.length <= this.floor()) return 'memoizing an empty stack';
        const index = op.info.name === 'MEMOIZE' ? this.memoLen : op.info.name === 'PUT' ? pyIndex(arg as string)! : (arg as number);
        if ((typeof index === 'number' && index < 0) || (typeof index === 'string' && index.startsWith('huge -'))) return `${JSON.stringify(String(arg))} is a negative memo index`;
        this.memoSet(index, s[s.length - 1]!);
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
        if ([module, name].some((v) => v.kind === 'bytes' || v.kind === 'shortbytes' || v.kind === 'int' || v.kind === 'container' || v.kind === 'scalar')) return 'STACK_GLOBAL needs two strings';
        if (module.kind === 'str' && name.kind === 'str' && !module.src && !name.src) {
          const problem = cannotImport(module.value);
          if (problem) return problem;
          s.push(this.global(module.value, name.value, at));
        } else {
          this.acted = true;
          this.finding(
            'dangerous',
            'pickle/computed-global',
            module.kind === 'str' && name.kind === 'str'
              ? `STACK_GLOBAL at byte ${at} imports a name longer than ${MAX_SYM_STRING} characters (MAX_SYM_STRING), which is not checked: no real module or attribute is named so`
              : `STACK_GLOBAL at byte ${at} imports a name that is computed while loading (from ${describeSym(module)} and ${describeSym(name)}), so it cannot be checked: a way to hide what is imported`,
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
        s.push(this.call(cls, args.kind === 'container' ? args.items : [args], at, true));
        return;
      }
      case 'NEWOBJ_EX': {
        const [cls, args, kwargs] = this.popN(3) ?? [];
        if (!cls || !args || !kwargs) return 'NEWOBJ_EX needs a class, arguments and keyword arguments';
        const all = args.kind === 'container' ? args.items.slice() : [args];
        all.push(kwargs);
        s.push(this.call(cls, all, at, true));
        return;
      }
      case 'BUILD': {
        const [state] = this.popN(1) ?? [];
        const target = s[s.length - 1];
        if (!state || !target || s.length <= this.floor()) return 'BUILD needs an object and its state';
        const what = resolve(target);
        if (what.kind === 'global') {
          this.finding(
            'dangerous',
            'pickle/mutates-global',
            `BUILD at byte ${at} sets attributes of ${what.name} itself (a module or class${what === target ? '' : `, returned by a call that passes it through`}), not of an object: it can replace functions other code calls`,
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
      case 'BINPERSID': {
        const pid = this.popN(1);
        if (!pid) return 'BINPERSID needs a value';
        // torch's legacy and tar loaders return data[0] of a ('module', cls, file, source) id: the class
        // itself, laundered (a BUILD on it then sets attributes of the class). b'module' is decoded as
        // ASCII, and short bytes are not kept: any id that may be 'module' passes its second item through.
        const id = resolve(pid[0]!);
        const first = id.kind === 'container' ? id.items[0] : undefined;
        const maybeModule = first !== undefined && (first.kind === 'str' ? first.value === 'module' : first.kind === 'bytes' || first.kind === 'shortbytes' || first.kind === 'value');
        s.push(id.kind === 'container' && maybeModule && id.items[1] ? { kind: 'call', callee: VALUE, args: [], at, is: id.items[1] } : VALUE);
        return;
      }
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

  private memoGet(index: number | string): Sym | undefined {
    return typeof index === 'number' && index < this.memoArr.length ? this.memoArr[index] : this.memoMap.get(index);
  }

  private memoSet(index: number | string, value: Sym): void {
    const arr = this.memoArr;
    if (typeof index === 'number' && index < arr.length) {
      arr[index] = value;
      return;
    }
    if (index === arr.length) {
      if (this.memoMap.delete(index)) {
        /* moved, not new */
      } else this.memoLen++;
      arr.push(value);
      for (let next = this.memoMap.get(arr.length); next !== undefined; next = this.memoMap.get(arr.length)) {
        this.memoMap.delete(arr.length);
        arr.push(next);
      }
      return;
    }
    if (!this.memoMap.has(index)) this.memoLen++;
    this.memoMap.set(index, value);
  }

  /** A global: judged against the allowlist and the denylist, reported when it is not safe. */
  private global(rawModule: string, rawName: string, at: number): Sym {
    this.acted = true;
    const [module, name] = normalizeGlobal(rawModule, rawName);
    const qualified = `${module}.${name}`;
    if (qualified === 'builtins.getattr') {
      // Importing getattr does nothing; what it reaches is judged where it is used (see call and nested):
      // getattr(a global, 'literal') is that attribute path (pickle writes nested classes so), anything else is dangerous.
      return { kind: 'global', name: qualified, at, module, attr: name, getattr: true };
    }
    const verdict = classifyGlobal(rawModule, rawName);
    const shown = module === rawModule && name === rawName ? qualified : `${qualified} (written ${rawModule}.${rawName})`;
    if (verdict === 'dangerous') {
      this.finding('dangerous', 'pickle/dangerous-global', `imports ${shown} (byte ${at}), which runs code or touches the system when the file is loaded`);
    } else if (verdict === 'unknown' && !this.options.expected?.(qualified)) {
      this.finding('suspicious', 'pickle/unknown-global', `imports ${shown} (byte ${at}), which is not a known data type: loading the file runs whatever that name does`);
    }
    return { kind: 'global', name: qualified, at, module, attr: name };
  }

  /** Judges an attribute path reached through getattr or attrgetter, as if it were imported by that name. */
  private attribute(owner: Sym & { kind: 'global' }, attr: string, at: number, how: string): Sym {
    const module = owner.module ?? owner.name;
    const path = owner.attr !== undefined ? `${owner.attr}.${attr}` : attr;
    const qualified = `${module}.${path}`;
    const verdict = owner.module === undefined ? 'dangerous' : classifyGlobal(module, path);
    if (verdict === 'dangerous') this.finding('dangerous', 'pickle/dangerous-global', `${how} at byte ${at} reaches ${qualified}, which runs code or touches the system when the file is loaded`);
    else if (verdict === 'unknown' && !this.options.expected?.(qualified)) {
      this.finding('suspicious', 'pickle/unknown-global', `${how} at byte ${at} reaches ${qualified}, which is not a known data type: loading the file runs whatever that name does`);
    }
    return verdict === 'dangerous' ? { kind: 'global', name: qualified, at, module, attr: path } : { kind: 'global', name: qualified, at, module, attr: path, viaGetattr: 'judged' };
  }

  private getattrMisused(at: number, how: string): void {
    this.finding('dangerous', 'pickle/dangerous-global', `builtins.getattr ${how} (byte ${at}): it reaches any attribute of anything, which runs code or touches the system when the file is loaded`);
  }

  /** A call of `callee`: what it reaches, pickles passed to it, and what the result is when the callee passes an argument through. */
  private call(callee: Sym, args: readonly Sym[], at: number, construct = false): Sym {
    const fn = resolve(callee);
    if (callee.kind === 'call' && !(fn.kind === 'global' && fn.viaGetattr)) {
      // (A class reached by getattr(a global, 'Name'), as pickle writes nested classes, was judged by its path.)
      this.finding('suspicious', 'pickle/indirect-call', `the result of a call made at byte ${callee.at} is called again at byte ${at} (a gadget chain such as getattr(...)(...))`);
    } else if (fn.kind !== 'global') {
      this.finding('suspicious', 'pickle/indirect-call', `byte ${at} calls ${describeSym(callee)}, which is not an imported name`);
    }
    const name = fn.kind === 'global' ? fn.name : undefined;
    const loader = name !== undefined && NESTED_LOADERS.has(name);
    let reached: Sym | undefined;
    if (fn.kind === 'global' && fn.getattr) {
      const [owner, attr] = [args[0] ? resolve(args[0]) : undefined, args[1]];
      if (owner?.kind === 'global' && !owner.getattr && attr?.kind === 'str' && args.length === 2) reached = this.attribute(owner, attr.value, at, 'getattr');
      else this.getattrMisused(at, `is called with ${args.length === 2 ? `${describeSym(args[0]!)} and ${describeSym(args[1]!)}` : `${args.length} arguments`}`);
    }
    for (const a of args) this.nested(a, loader);
    const result: Sym & { kind: 'call' } = { kind: 'call', callee: fn, args: args.length <= 4 ? args : args.slice(0, 4), at };
    if (reached) result.is = reached;
    if (name !== undefined && !construct) {
      const first = args[0] ? resolve(args[0]) : undefined;
      if (SETATTR_CALLS.has(name) && first?.kind === 'global') {
        this.finding('dangerous', 'pickle/mutates-global', `${name} at byte ${at} changes ${first.name} itself (a module or class), not an object`);
      }
      const passed = IDENTITY_CALLS.get(name);
      if (passed !== undefined && passed >= 0 && args[passed]) result.is = args[passed];
      else if (passed === -1 && first?.kind === 'container') result.is = first.items.find((i) => resolve(i).kind === 'global') ?? first.items[0];
    }
    if (fn.kind === 'call' && fn.callee.kind === 'global') {
      // itemgetter(i)(container) is an item; attrgetter('a')(cls) is an attribute of cls.
      const made = fn.callee.name;
      const key = fn.args[0];
      const subject = args[0] ? resolve(args[0]) : undefined;
      if ((made === 'operator.itemgetter' || made === '_operator.itemgetter') && subject?.kind === 'container') {
        const i = key?.kind === 'int' ? Number(key.value) : 0;
        result.is = subject.items[i < 0 ? subject.items.length + i : i] ?? subject.items.find((x) => resolve(x).kind === 'global');
      } else if ((made === 'operator.attrgetter' || made === '_operator.attrgetter') && subject?.kind === 'global' && key?.kind === 'str') {
        result.is = this.attribute(subject, key.value, at, 'attrgetter');
      }
    }
    return result;
  }

  /**
   * Bytes (or latin-1 text) that hold a pickle: analysed, at full severity when a loader unpickles
   * them. Walks containers without recursion, each container once (its items added since are walked
   * when it is met again), so a DAG built through the memo costs its size, not its unfolding.
   */
  private nested(root: Sym, loaded: boolean): void {
    const depth = this.options.depth ?? 0;
    if (depth >= MAX_NESTED_PICKLES) {
      if (loaded && !this.deepReported) {
        this.deepReported = true;
        this.finding('suspicious', 'pickle/limit', `a pickle passed to a loader at byte ${this.base + this.op.pos} is nested deeper than MAX_NESTED_PICKLES (${MAX_NESTED_PICKLES}) and was not analysed`);
      }
      return;
    }
    const walked = this.walked[loaded ? 1 : 0];
    const work: Sym[] = [root];
    while (work.length > 0) {
      const value = work.pop()!;
      if (value.kind === 'container') {
        const done = walked.get(value) ?? 0;
        if (done >= value.items.length && walked.has(value)) continue;
        walked.set(value, value.items.length);
        for (let i = done; i < value.items.length; i++) work.push(value.items[i]!);
        continue;
      }
      if (value.kind === 'call' && value.is) {
        work.push(value.is);
        continue;
      }
      if (value.kind === 'global' && value.getattr) {
        this.getattrMisused(this.base + this.op.pos, 'is passed as a value');
        continue;
      }
      this.nestedPickle(value, loaded, depth);
    }
  }

  private nestedPickle(value: Sym, loaded: boolean, depth: number): void {
    let bytes: Uint8Array | undefined;
    if (value.kind === 'bytes') bytes = value.src.subarray(value.start, value.end);
    else if (value.kind === 'str') {
      if (!loaded && !/^\x80[\x00-\x05]/.test(value.value)) return;
      bytes = value.src ?? latin1(value.value);
    }
    if (!bytes) return;
    // What a loader unpickles is analysed whatever it looks like; data only when it starts like a binary pickle.
    if (!loaded && (bytes.length < MIN_NESTED_PICKLE_BYTES || bytes[0] !== 0x80 || (bytes[1] ?? 99) > HIGHEST_PROTOCOL)) return;
    const at = value.kind === 'bytes' ? value.at : this.base + this.op.pos;
    const hash = fnv1a(bytes);
    const bucket = this.shared.nested.get(hash) ?? [];
    let entry = bucket.find((e) => sameBytes(e.bytes, bytes));
    if (!entry) {
      if (this.shared.nestedBytes + bytes.length > MAX_NESTED_PICKLE_BYTES) {
        this.finding('suspicious', 'pickle/limit', `a nested pickle at byte ${at} was not analysed: the nested pickles of this stream exceed MAX_NESTED_PICKLE_BYTES (${MAX_NESTED_PICKLE_BYTES} bytes)`);
        return;
      }
      this.shared.nestedBytes += bytes.length;
      const where = `${this.where} (pickle nested at byte ${at})`;
      const findings: Finding[] = [];
      entry = { bytes, findings, reported: new Set() };
      bucket.push(entry);
      this.shared.nested.set(hash, bucket);
      analyzePickles(bytes, { where, report: (f) => findings.push(f), expected: this.options.expected, depth: depth + 1, shared: this.shared }, 1);
    }
    // Each distinct nested pickle is analysed once, and its findings are reported once per way it is used.
    const mode = loaded ? 'loaded' : 'data';
    if (entry.reported.has(mode)) return;
    entry.reported.add(mode);
    for (const f of entry.findings) {
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

/** What a value is, through calls that pass an argument through (iteratively: a chain of them is not recursion). */
function resolve(s: Sym): Sym {
  for (let i = 0; i < 64 && s.kind === 'call' && s.is; i++) s = s.is;
  return s;
}

const utf8Lenient = new TextDecoder('utf-8');
const latin1Decoder = new TextDecoder('latin1');

/** A string value; a long one keeps its first MAX_SYM_STRING characters and, for nested pickles, its bytes. */
function strSym(value: string, enc?: 'latin1'): Sym {
  if (value.length <= MAX_SYM_STRING) return { kind: 'str', value };
  return { kind: 'str', value: value.slice(0, MAX_SYM_STRING), src: latin1(value), enc };
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
      return `${s.end - s.start} bytes`;
    case 'shortbytes':
      return 'a few bytes';
    case 'container':
      return 'a container';
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
  const head = new TextDecoder('latin1').decode(bytes.subarray(pos + 1, pos + 1 + (1 << 16))).split('\n')[0]!;
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

/**
 * PyLong_FromString(text, base) on a C string (Objects/longobject.c), as int(text, base) reads it:
 * whitespace, a sign, a base prefix when base is 0 (then one underscore may follow it), digits with
 * single underscores between them, whitespace. In base 0 a leading zero without a prefix allows only
 * zeros. Undefined when CPython refuses the text. Values of more than 64 digits are kept approximately.
 */
function pyLong(text: string, base: 0 | 10): bigint | undefined {
  const m = /^[ \t\n\v\f\r]*([+-]?)([0-9A-Za-z_]*)[ \t\n\v\f\r]*$/.exec(cString(text));
  if (!m) return undefined;
  let body = m[2]!;
  let radix = 10;
  let zerosOnly = false;
  if (base === 0 && body[0] === '0') {
    const p = body[1]?.toLowerCase();
    if (p === 'x' || p === 'o' || p === 'b') {
      radix = p === 'x' ? 16 : p === 'o' ? 8 : 2;
      body = body.slice(2);
      if (body[0] === '_') body = body.slice(1);
    } else zerosOnly = true;
  }
  const digit = radix === 16 ? '[0-9a-fA-F]' : radix === 8 ? '[0-7]' : radix === 2 ? '[01]' : '[0-9]';
  if (!new RegExp(`^${digit}+(?:_${digit}+)*$`).test(body)) return undefined;
  const digits = body.replaceAll('_', '').replace(/^0+(?=.)/, '');
  if (zerosOnly && digits !== '0') return undefined;
  if (radix === 10 && digits.length > 15) lastHugeDigits = `${m[1] === '-' ? '-' : ''}${digits}`;
  const prefix = radix === 16 ? '0x' : radix === 8 ? '0o' : radix === 2 ? '0b' : '';
  const v = BigInt(prefix + digits.slice(0, 64));
  return m[1] === '-' ? -v : v;
}
/** The exact decimal digits of the last huge value pyLong read (memo keys must not alias). */
let lastHugeDigits = '';

/** C's strtol(text, &end, 0) consuming the whole C string (an overflow is taken as consumed too). */
function strtolWhole(t: string): boolean {
  return /^[ \t\n\v\f\r]*[+-]?(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)$/.test(t);
}

/**
 * INT's argument (load_int in Modules/_pickle.c): strtol in base 0 over the C string (so a line
 * starting with NUL is 0 and `010` is 8), and when that does not consume it, int(text, 0); the
 * pure-Python unpickler's int(text, 0) accepts no more. `bool` for the 00 and 01 of True and False.
 */
function intArgument(arg: string): number | bigint | 'bool' | undefined {
  if (arg === '') return undefined;
  const t = cString(arg);
  if (t === '') return 0;
  if (arg === '00' || arg === '01') return 'bool';
  if (strtolWhole(t)) {
    const m = /^[ \t\n\v\f\r]*([+-]?)(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)$/.exec(t)!;
    const d = m[2]!;
    const v = /^0[xX]/.test(d) ? BigInt(d.slice(0, 66)) : d.length > 1 && d[0] === '0' ? BigInt('0o' + d.slice(1, 64)) : BigInt(d.slice(0, 64));
    return small(m[1] === '-' ? -v : v);
  }
  const v = pyLong(arg, 0);
  return v === undefined ? undefined : small(v);
}

/** LONG's argument: a trailing L dropped, then int(text, 0) (both unpicklers). */
function longArgument(arg: string): number | bigint | undefined {
  const v = pyLong(arg.endsWith('L') ? arg.slice(0, -1) : arg, 0);
  return v === undefined ? undefined : small(v);
}

function small(v: bigint): number | bigint {
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}

/**
 * FLOAT's argument, accepted when either unpickler accepts it: the C one's PyOS_string_to_double over
 * the C string (no spaces, no underscores, an overflow is an error), or the pure-Python one's
 * float(text) (spaces, underscores between digits, 1e500 is inf).
 */
function pyFloat(arg: string): boolean {
  const t = cString(arg);
  const special = /^[+-]?(inf|infinity|nan)$/i;
  if (special.test(t)) return true;
  if (/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(t) && Number.isFinite(Number(t))) return true;
  const p = /^[ \t\n\v\f\r]*(.*?)[ \t\n\v\f\r]*$/s.exec(arg)![1]!;
  const d = '\\d(?:_?\\d)*';
  return special.test(p) || new RegExp(`^[+-]?(?:${d}(?:\\.(?:${d})?)?|\\.${d})(?:[eE][+-]?${d})?$`).test(p);
}

/** A GET or PUT index: int(text, 10); a number, or the decimal digits of a huge one, or undefined. */
function pyIndex(text: string): number | string | undefined {
  const v = pyLong(text, 10);
  if (v === undefined) return undefined;
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : `huge ${lastHugeDigits}`;
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
  // Not Buffer: the analysis runs in browsers too.
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i) & 0xff;
  return out;
}
