import type { ByteSource } from '../../io/byte-source.js';
import { Cursor } from '../../io/cursor.js';
import { FormatProblem, limitExceeded, malformed } from '../../io/format-problem.js';
import { show, utf8OrUndefined } from '../scan-rules.js';
import { GGML_MAX_DIMS } from '../../tensor/gguf-types.js';
import { GGJT_ALIGNMENT, MAX_GGML_NAME_BYTES, MAX_GGML_TENSORS, MAX_GGML_TOKEN_BYTES, MAX_GGML_VOCAB, MAX_GGML_VOCAB_BYTES } from './limits.js';

/**
 * A legacy GGML file, parsed once for the reader, the scan rules and inspect. The layout is llama.cpp's
 * before GGUF (its llama.cpp loader of 2023, and convert_llama_ggml_to_gguf.py, which still reads it):
 *
 *   magic u32 ('ggml' | 'ggmf' | 'ggjt', little-endian), version u32 (not in 'ggml'),
 *   hparams: n_vocab, n_embd, n_mult, n_head, n_layer, n_rot, ftype (u32 each),
 *   vocabulary: n_vocab × (length u32, bytes, score f32 (not in 'ggml')),
 *   tensors to the end of the file: n_dims u32, name length u32, ggml type u32, n_dims × ne u32
 *   (innermost first), the name, in 'ggjt' padding to a multiple of 32 bytes of the file, the data.
 *
 * Other programs wrote the same magics with other hyperparameters (ggml's gpt-2 and gpt-j examples):
 * such a file is read as this layout only when the walk of its tensors ends exactly at the end of the
 * file; otherwise the parse stops, saying so. The quantized blocks of ggjt v3 have the sizes ggml has
 * today (llama.cpp's converter reads them so); older versions' blocks differ, and the walk stops at the
 * first one (`stoppedAt`): no later byte is interpreted. Tensor data is never read.
 * Throws FormatProblems: the reader codes them, the scan rules report them.
 */

export type GgmlMagic = 'ggml' | 'ggmf' | 'ggjt';

/** LLaMA's hyperparameters, as llama.cpp wrote them after the magic. */
export interface GgmlHparams {
  readonly nVocab: number;
  readonly nEmbd: number;
  readonly nMult: number;
  readonly nHead: number;
  readonly nLayer: number;
  readonly nRot: number;
  /** llama.cpp's file type (`MOSTLY_Q4_0`…): what most tensors are; each tensor says its own type. */
  readonly ftype: number;
}

export interface GgmlTensorInfo {
  readonly name: string;
  /** Dimensions as stored: innermost (fastest-moving) first. */
  readonly ne: readonly number[];
  readonly type: number;
  readonly typeName: string;
  /** Absolute offset of the data, and its byte length. */
  readonly offset: number;
  readonly bytes: number;
  readonly elements: number;
  /** Where its description starts, for messages. */
  readonly at: number;
}

export interface GgmlFile {
  readonly magic: GgmlMagic;
  /** Undefined for the unversioned 'ggml' magic. */
  readonly version?: number;
  readonly hparams: GgmlHparams;
  /** The vocabulary: how many entries, whether each has a score, and where it lies. */
  readonly vocab: { readonly entries: number; readonly scored: boolean; readonly start: number; readonly end: number };
  readonly tensors: readonly GgmlTensorInfo[];
  /**
   * The first tensor in quantized blocks of a version older than ggjt v3, whose size this reader does
   * not take on trust: the walk stopped at it, and `tensors` are the ones before it.
   */
  readonly stoppedAt?: { readonly name: string; readonly type: number; readonly typeName: string; readonly at: number };
}

/** 'ggjt v3', 'ggml (unversioned)': the file's kind for messages. */
export function ggmlVersionName(file: Pick<GgmlFile, 'magic' | 'version'>): string {
  return file.version === undefined ? `${file.magic} (unversioned)` : `${file.magic} v${file.version}`;
}

/** ggml type ids as they were in 2023 (Q4_2 and Q4_3 removed since): [name, elements per block, bytes per block in ggjt v3]. */
export const LEGACY_GGML_TYPES: ReadonlyMap<number, readonly [string, number, number]> = new Map([
  [0, ['F32', 1, 4]], [1, ['F16', 1, 2]], [2, ['Q4_0', 32, 18]], [3, ['Q4_1', 32, 20]], [4, ['Q4_2', 16, 0]], [5, ['Q4_3', 16, 0]],
  [6, ['Q5_0', 32, 22]], [7, ['Q5_1', 32, 24]], [8, ['Q8_0', 32, 34]], [9, ['Q8_1', 32, 0]], [10, ['Q2_K', 256, 84]],
  [11, ['Q3_K', 256, 110]], [12, ['Q4_K', 256, 144]], [13, ['Q5_K', 256, 176]], [14, ['Q6_K', 256, 210]], [15, ['Q8_K', 256, 292]],
] as const);

/** llama.cpp's file types (`llama_ftype` of 2023), for inspect. */
export const LLAMA_FTYPES: ReadonlyMap<number, string> = new Map([
  [0, 'ALL_F32'], [1, 'MOSTLY_F16'], [2, 'MOSTLY_Q4_0'], [3, 'MOSTLY_Q4_1'], [4, 'MOSTLY_Q4_1_SOME_F16'], [5, 'MOSTLY_Q4_2'],
  [6, 'MOSTLY_Q4_3'], [7, 'MOSTLY_Q8_0'], [8, 'MOSTLY_Q5_0'], [9, 'MOSTLY_Q5_1'], [10, 'MOSTLY_Q2_K'], [11, 'MOSTLY_Q3_K_S'],
  [12, 'MOSTLY_Q3_K_M'], [13, 'MOSTLY_Q3_K_L'], [14, 'MOSTLY_Q4_K_S'], [15, 'MOSTLY_Q4_K_M'], [16, 'MOSTLY_Q5_K_S'],
  [17, 'MOSTLY_Q5_K_M'], [18, 'MOSTLY_Q6_K'],
]);

const MAGICS: Readonly<Record<string, GgmlMagic>> = { lmgg: 'ggml', fmgg: 'ggmf', tjgg: 'ggjt' };
/** Versions each magic was written with (ggml has none). */
const VERSIONS: Readonly<Record<GgmlMagic, readonly number[]>> = { ggml: [], ggmf: [1], ggjt: [1, 2, 3] };

/** What a problem after the hyperparameters may mean: the llama layout does not fit the file. */
const NOT_LLAMA = 'the file is truncated, or is not the llama layout tensorsafe reads (other programs wrote these magics with other hyperparameters)';

export async function readGgmlHeader(source: ByteSource): Promise<GgmlFile> {
  const c = new Cursor(source);
  await c.need(8, 'the GGML magic and version');
  const magic = MAGICS[String.fromCharCode(...c.take(4))];
  if (magic === undefined) throw malformed('the magic is not "ggml", "ggmf" or "ggjt"', 0);
  let version: number | undefined;
  if (magic !== 'ggml') {
    version = c.u32();
    if (!VERSIONS[magic].includes(version)) throw malformed(`unsupported ${magic} version ${version} (${VERSIONS[magic].join(', ')} exist)`, 4);
  }
  await c.need(28, 'the hyperparameters');
  const [nVocab, nEmbd, nMult, nHead, nLayer, nRot, ftype] = Array.from({ length: 7 }, () => c.u32()) as [number, number, number, number, number, number, number];
  const hparams: GgmlHparams = { nVocab, nEmbd, nMult, nHead, nLayer, nRot, ftype };
  try {
    const vocab = await readVocab(c, magic, nVocab);
    const { tensors, stoppedAt } = await readTensors(c, magic, version);
    return { magic, ...(version !== undefined ? { version } : {}), hparams, vocab, tensors, ...(stoppedAt ? { stoppedAt } : {}) };
  } catch (e) {
    if (e instanceof FormatProblem && e.kind === 'malformed') throw malformed(`${e.message}: ${NOT_LLAMA}`, e.offset);
    throw e;
  }
}

async function readVocab(c: Cursor, magic: GgmlMagic, entries: number): Promise<GgmlFile['vocab']> {
  const start = c.pos;
  if (entries > MAX_GGML_VOCAB) throw limitExceeded(`n_vocab is ${entries}, more than MAX_GGML_VOCAB (${MAX_GGML_VOCAB})`, start - 28);
  const scored = magic !== 'ggml';
  for (let i = 0; i < entries; i++) {
    const at = c.pos;
    if (at - start > MAX_GGML_VOCAB_BYTES) throw limitExceeded(`the vocabulary goes on past ${MAX_GGML_VOCAB_BYTES} bytes (MAX_GGML_VOCAB_BYTES)`, at);
    await c.need(4, `the length of vocabulary entry ${i}`);
    const n = c.u32();
    if (n > c.source.size - c.pos) throw malformed(`vocabulary entry ${i} is declared ${n} bytes long, past the end of the file`, at);
    if (n >= MAX_GGML_TOKEN_BYTES) throw limitExceeded(`vocabulary entry ${i} is ${n} bytes long, more than MAX_GGML_TOKEN_BYTES (${MAX_GGML_TOKEN_BYTES})`, at);
    c.skip(n + (scored ? 4 : 0), `vocabulary entry ${i}`);
  }
  return { entries, scored, start, end: c.pos };
}

async function readTensors(c: Cursor, magic: GgmlMagic, version: number | undefined): Promise<{ tensors: GgmlTensorInfo[]; stoppedAt?: GgmlFile['stoppedAt'] }> {
  const size = c.source.size;
  const tensors: GgmlTensorInfo[] = [];
  const names = new Set<string>();
  const current = magic === 'ggjt' && version === 3;
  while (c.pos < size) {
    const at = c.pos;
    if (tensors.length >= MAX_GGML_TENSORS) throw limitExceeded(`more than MAX_GGML_TENSORS (${MAX_GGML_TENSORS}) tensors`, at);
    await c.need(12, `the description of tensor ${tensors.length}`);
    const nDims = c.u32();
    const nameBytes = c.u32();
    const type = c.u32();
    if (nDims > GGML_MAX_DIMS) throw malformed(`tensor ${tensors.length} has ${nDims} dimensions, more than ${GGML_MAX_DIMS}`, at);
    const t = LEGACY_GGML_TYPES.get(type);
    if (t === undefined) throw malformed(`tensor ${tensors.length} has unknown ggml type ${type}`, at + 8);
    if (nameBytes > size - c.pos) throw malformed(`the name of tensor ${tensors.length} is declared ${nameBytes} bytes long, past the end of the file`, at + 4);
    if (nameBytes >= MAX_GGML_NAME_BYTES) throw limitExceeded(`the name of tensor ${tensors.length} is ${nameBytes} bytes long, more than MAX_GGML_NAME_BYTES (${MAX_GGML_NAME_BYTES})`, at + 4);
    await c.need(4 * nDims + nameBytes, `the dimensions and name of tensor ${tensors.length}`);
    const ne = Array.from({ length: nDims }, () => c.u32());
    const name = utf8OrUndefined(c.take(nameBytes));
    if (name === undefined) throw malformed(`the name of tensor ${tensors.length} is not valid UTF-8`, at + 12 + 4 * nDims);
    if (names.has(name)) throw malformed(`duplicate tensor name ${show(name)}`, at);
    names.add(name);
    const [typeName, block, blockBytes] = t;
    if (blockBytes === 0 || (!current && block > 1)) return { tensors, stoppedAt: { name, type, typeName, at } };
    if (magic === 'ggjt') c.skip((GGJT_ALIGNMENT - (c.pos % GGJT_ALIGNMENT)) % GGJT_ALIGNMENT, `the padding of tensor ${show(name)}`);
    const elements = ne.reduce((a, b) => a * b, 1);
    const ne0 = ne[0] ?? 1;
    if (ne0 % block !== 0) throw malformed(`tensor ${show(name)} (${typeName}) has ne[0] = ${ne0}, not a multiple of the ${block}-element block`, at);
    const bytes = (elements / block) * blockBytes;
    if (!Number.isSafeInteger(bytes) || bytes > size - c.pos) throw malformed(`the data of tensor ${show(name)} (${bytes} bytes at offset ${c.pos}) runs past the end of the file (${size} bytes)`, at);
    tensors.push({ name, ne, type, typeName, offset: c.pos, bytes, elements, at });
    c.skip(bytes, `the data of tensor ${show(name)}`);
  }
  return { tensors };
}
