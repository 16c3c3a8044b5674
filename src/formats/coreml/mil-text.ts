import { malformed } from '../../io/format-problem.js';
import { MIL_DTYPE_BY_NAME } from './dtype.js';
import { MAX_COREML_DIMS, MAX_COREML_WEIGHTS } from './limits.js';

/**
 * The MIL text program of a compiled model (`model.mlmodelc/model.mil`), as Core ML's compiler writes
 * it: `program(1.0)`, then functions whose operations are one statement a line. Only constants are
 * read: `<type> <name> = const()[name = …, val = <value>];` where the value is
 *  - a blob: `<type>(BLOBFILE(path = string("@model_path/weights/weight.bin"), offset = uint64(N)))`
 *    (older files spell the scalars `tensor<string, []>("…")`, `tensor<uint64, []>(N)`);
 *  - an immediate: `<type>(<number>)` or `<type>([<numbers>])` (decimal, hex floats `0x1.8p+1`, true/false).
 * Types: `tensor<fp16, [64, 3, 3, 3]>`, or a scalar's dtype alone (`fp32`). Other operations are
 * counted by type; compile-time operations (`constexpr_*`) are listed, not decoded, in text form.
 */

export interface MilTextConst {
  readonly name: string;
  readonly dtype: number | undefined;
  readonly dtypeName: string;
  /** Undefined when a dimension is not a number. */
  readonly shape: readonly number[] | undefined;
  readonly blob?: { readonly fileName: string; readonly offset: number };
  /** Immediate values, when they parse as numbers. */
  readonly values?: readonly number[];
  /** Why the value is not read, when it is neither. */
  readonly unread?: string;
  /** Line number (1-based). */
  readonly line: number;
}

export interface MilTextProgram {
  readonly version: string;
  readonly consts: MilTextConst[];
  readonly ops: Map<string, number>;
  readonly constexprs: { readonly name: string; readonly type: string; readonly line: number }[];
}

const TYPE = String.raw`(?:tensor<(\w+),\s*\[([^\]]*)\]>|(\w+))`;
const STATEMENT = new RegExp(String.raw`^\s*${TYPE}\s+([A-Za-z_][\w@]*)\s*=\s*(\w+)\(`);
// A const's value: from its first `val =` to the line's closing `];`, found separately (one regex with
// `(.*)` between them is tried from every `val =` of the line: quadratic on a hostile line).
const VAL_START = /\bval\s*=\s*/;
const STATEMENT_END = /\]\s*;\s*$/;
const BLOB_PATH = /BLOBFILE\(\s*path\s*=\s*(?:tensor<string,\s*\[\]>\(|string\()\s*"((?:[^"\\]|\\.)*)"/;
const BLOB_OFFSET = /offset\s*=\s*(?:tensor<uint64,\s*\[\]>\(|uint64\()\s*(\d+)\s*\)/;
// A scalar starts and ends in a character that is not a space, so the spaces around it are matched one
// way only (linear; overlapping `\s*` and `[^…]+` made a hostile line quadratic).
const IMMEDIATE = /^(?:tensor<\w+,\s*\[[^\]]*\]>|\w+)\(\s*(\[[^\]]*\]|[^()[\],\s](?:[^()[\],]*[^()[\],\s])?)\s*\)$/;

export function parseMilText(text: string): MilTextProgram {
  const head = /^\s*program\(([^)]*)\)/.exec(text);
  if (head === null) throw malformed('MIL text does not start with program(<version>)', 0);
  const consts: MilTextConst[] = [];
  const ops = new Map<string, number>();
  const constexprs: MilTextProgram['constexprs'] = [];
  const lines = text.split('\n');
  for (const [i, line] of lines.entries()) {
    const m = STATEMENT.exec(line);
    if (m === null) continue;
    const [, tensorType, dims, scalarType, name, op] = m as unknown as [string, string | undefined, string | undefined, string | undefined, string, string];
    ops.set(op, (ops.get(op) ?? 0) + 1);
    if (op.startsWith('constexpr_')) constexprs.push({ name, type: op, line: i + 1 });
    if (op !== 'const') continue;
    if (consts.length >= MAX_COREML_WEIGHTS) throw malformed(`more than MAX_COREML_WEIGHTS (${MAX_COREML_WEIGHTS}) constants`, undefined);
    const dtypeName = tensorType ?? scalarType!;
    const shape = tensorType === undefined ? [] : parseDims(dims!);
    const base = { name, dtype: MIL_DTYPE_BY_NAME.get(dtypeName), dtypeName, shape, line: i + 1 };
    const start = VAL_START.exec(line);
    const end = start === null ? null : STATEMENT_END.exec(line);
    const val = start === null || end === null || end.index < start.index + start[0].length ? undefined : line.slice(start.index + start[0].length, end.index).trim();
    if (val === undefined) {
      consts.push({ ...base, unread: 'its value is not in the form `val = …]`' });
      continue;
    }
    const path = BLOB_PATH.exec(val);
    if (path !== null) {
      const offset = BLOB_OFFSET.exec(val);
      if (offset === null) throw malformed(`line ${i + 1}: BLOBFILE of ${JSON.stringify(name)} without a uint64 offset`, undefined);
      consts.push({ ...base, blob: { fileName: unescaped(path[1]!, i + 1), offset: Number(offset[1]) } });
      continue;
    }
    const values = immediateValues(val);
    consts.push(values === undefined ? { ...base, unread: 'an immediate value that is not a list of numbers' } : { ...base, values });
  }
  return { version: head[1]!.trim(), consts, ops, constexprs };
}

/** A MIL text string's contents with its escapes read (as JSON's), or malformed. */
function unescaped(text: string, line: number): string {
  try {
    return JSON.parse(`"${text}"`) as string;
  } catch {
    throw malformed(`line ${line}: a BLOBFILE path that is not a valid string`, undefined);
  }
}

function parseDims(dims: string): number[] | undefined {
  const parts = dims.trim() === '' ? [] : dims.split(',').map((s) => s.trim());
  if (parts.length > MAX_COREML_DIMS) throw malformed(`a tensor type with more than MAX_COREML_DIMS (${MAX_COREML_DIMS}) dimensions`, undefined);
  return parts.every((p) => /^\d+$/.test(p)) ? parts.map(Number) : undefined;
}

function immediateValues(val: string): number[] | undefined {
  const m = IMMEDIATE.exec(val);
  if (m === null) return undefined;
  const body = m[1]!.trim();
  const items = body.startsWith('[') ? body.slice(1, -1).split(',').map((s) => s.trim()).filter((s) => s !== '') : [body];
  const out: number[] = [];
  for (const item of items) {
    const n = number(item);
    if (n === undefined) return undefined;
    out.push(n);
  }
  return out;
}

/** A MIL text number: decimal, a C hex float (`0x1.8p+1`), inf, nan, true or false. */
function number(s: string): number | undefined {
  if (s === 'true') return 1;
  if (s === 'false') return 0;
  const hex = /^([+-]?)0x([0-9a-f]+)(?:\.([0-9a-f]*))?p([+-]?\d+)$/i.exec(s);
  if (hex !== null) {
    const frac = hex[3] ?? '';
    const mantissa = parseInt(hex[2]! + frac, 16) / 16 ** frac.length;
    const v = mantissa * 2 ** Number(hex[4]);
    return hex[1] === '-' ? -v : v;
  }
  if (/^[+-]?inf$/i.test(s)) return s.startsWith('-') ? -Infinity : Infinity;
  if (/^[+-]?nan$/i.test(s)) return NaN;
  if (/^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(s)) return Number(s);
  return undefined;
}
