import type { ByteSource } from '../../io/byte-source.js';
import type { ScanContext } from '../findings.js';
import { at, Findings, guarded, show } from '../scan-rules.js';
import { malformed } from '../../io/format-problem.js';
import { PagedReader } from '../../io/cursor.js';
import { HeaderProblem, readNpyHeader, type NpyHeader } from './header.js';

/**
 * The scan rules of a `.npy` file (one array, or one member of an `.npz`). Numeric data must be
 * exactly shape × itemsize bytes. An object dtype (`'|O'`, `'object'`, or a structured dtype with an
 * object field: `'i4,O'`, `[('a', '<i4'), ('b', 'O')]`) means the data is a pickle that
 * `np.load(allow_pickle=True)` unpickles: it is handed to the pickle analysis. The header is read as
 * `ast.literal_eval` reads it (a repeated key keeps its last value, adjacent strings concatenate,
 * comments). A header of sane length this reader cannot take (a descr it does not know: numpy's dtype
 * grammar is large; a literal it does not parse) is `npy/malformed`, and the data after it is analysed
 * as a pickle too.
 * Only the header is read, plus a bounded prefix of bool data (values other than 0/1 are invalid)
 * and the pickle of object arrays.
 *
 * Rules: `npy/valid`, `npy/object-array` (info); `npy/trailing-data`, `npy/malformed`,
 * `npy/limit-exceeded` (suspicious); the pickle analysis adds its own.
 * Misses: bool bytes past MAX_NPY_BOOL_CHECK_BYTES; the part of a pickle past MAX_NPY_PICKLE_BYTES
 * (reported); nothing about the values of numeric data.
 */

/** Pickle bytes of an object array read and passed to the pickle analysis. */
export const MAX_NPY_PICKLE_BYTES = 64 * 1024 * 1024;
/** Bool data bytes checked for values other than 0 and 1 (a bounded look at the data). */
export const MAX_NPY_BOOL_CHECK_BYTES = 1024 * 1024;

/** Scans one .npy source; `header`, when given, is the header an earlier open of the same source parsed. */
export async function scanNpy(source: ByteSource, ctx: ScanContext, header?: NpyHeader): Promise<void> {
  const findings = new Findings(ctx);
  let summary = '';
  const ok = await guarded(findings, 'npy', ctx.file, 'the .npy file', async () => {
    summary = await scan(source, ctx, findings, header);
  });
  if (ok && summary !== '' && !findings.has('suspicious', 'dangerous')) findings.add('info', 'npy/valid', summary, ctx.file);
  findings.flush();
}

async function scan(source: ByteSource, ctx: ScanContext, findings: Findings, parsed: NpyHeader | undefined): Promise<string> {
  const r = new PagedReader(source);
  let h: NpyHeader;
  try {
    h = parsed ?? (await readNpyHeader(r));
  } catch (e) {
    if (e instanceof HeaderProblem && e.dataOffset < source.size) {
      const n = Math.min(source.size - e.dataOffset, MAX_NPY_PICKLE_BYTES);
      await ctx.scanPickle(await r.bytes(e.dataOffset, n, 'the data'), at(ctx.file, e.dataOffset));
    }
    throw e;
  }
  const where = at(ctx.file, h.dataOffset);
  const shapeText = `(${h.shape.join(', ')}${h.shape.length === 1 ? ',' : ''})`;
  const payload = source.size - h.dataOffset;
  if (payload < 0) throw malformed('the header runs past the end of the file', 8);
  if (h.hasObject) {
    findings.add(
      'info',
      'npy/object-array',
      `object dtype ${show(h.descr)} shape ${shapeText}: the ${payload} bytes of data are a pickle, which np.load unpickles when allow_pickle=True; passed to the pickle analysis`,
      where,
    );
    if (payload === 0) throw malformed('an object array with no pickle after the header', h.dataOffset);
    const n = Math.min(payload, MAX_NPY_PICKLE_BYTES);
    if (n < payload) {
      findings.add('suspicious', 'npy/limit-exceeded', `the pickle is ${payload} bytes; only the first ${n} were analysed (MAX_NPY_PICKLE_BYTES)`, where);
    }
    await ctx.scanPickle(await r.bytes(h.dataOffset, n, 'the pickle of the object array'), where);
    return '';
  }
  let count = 1n;
  for (const d of h.shape) count *= BigInt(d);
  const expected = count * h.itemsize;
  if (BigInt(payload) < expected) {
    throw malformed(`the data is ${payload} bytes, but dtype ${show(h.descr)} and shape ${shapeText} need ${expected} (truncated file)`, h.dataOffset);
  }
  if (BigInt(payload) > expected) {
    const end = h.dataOffset + Number(expected);
    findings.add(
      'suspicious',
      'npy/trailing-data',
      `${BigInt(payload) - expected} bytes after the end of the array data (offset ${end}): np.load ignores them; an appended file (polyglot) or a damaged file`,
      at(ctx.file, end),
    );
  }
  if (h.isBool && expected > 0n) {
    const n = Math.min(Number(expected), MAX_NPY_BOOL_CHECK_BYTES);
    const data = await r.bytes(h.dataOffset, n, 'the bool data');
    const bad = data.findIndex((b) => b > 1);
    if (bad >= 0) {
      throw malformed(`bool element ${bad} has byte value ${data[bad]}, not 0 or 1`, h.dataOffset + bad);
    }
  }
  const order = h.fortranOrder ? 'Fortran order' : 'C order';
  return `NumPy ${h.version} array, dtype ${show(h.descr)}, shape ${shapeText}, ${order}, ${expected} bytes of data; plain data, no pickle`;
}

