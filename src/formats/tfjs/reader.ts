import { MemorySource, type ByteSource } from '../../io/byte-source.js';
import { listed } from '../../util/strings.js';
import type { Dtype } from '../../dtype/dtypes.js';
import { DEFAULT_CHUNK_BYTES, STORED, type LeftOut, type TensorEntry } from '../../tensor/tensor-set.js';
import type { FormatReader, OpenOptions, ParsedModel } from '../format.js';
import type { ScanContext } from '../findings.js';
import { pathEscape } from '../scan-rules.js';
import { dequantize, quantizedBytes } from '../../tensor/tfjs-dequantize.js';
import { TfjsError } from './errors.js';
import { MAX_TFJS_STRING_ELEMENTS, MAX_TFJS_STRING_METADATA_BYTES, MAX_TFJS_STRING_METADATA_TOTAL } from './limits.js';
import { decodeBase64, parseTfjsManifest, type TfjsManifest, type TfjsWeightSpec } from './manifest.js';
import { MAX_TFJS_JSON_BYTES, MAX_TFJS_PATHS, scanTfjsModelJson } from './scan-rules.js';
import { ShardSequence } from './shards.js';
import { describeTfjs } from './view.js';
import { tfjsRunner } from './runner.js';

/**
 * TF.js models as TensorSets: a model.json (layers- or graph-model) or a bare weights manifest, and the
 * weight shards it lists. Every group's shards are read in manifest order as one byte sequence (as
 * tfjs-core's loader concatenates them) and each weight follows the one before, packed. Names are the
 * manifest's weight names. float32, int32, bool and complex64 weights are read as stored (F32, I32,
 * BOOL, C64: exact); uint8/uint16-quantized weights are dequantized to float32 or int32 (derived) and
 * float16 ones widened to float32 (lossless), as tfjs-core's `io.decodeWeights` does, bit for bit.
 * Shard paths are opened through `openSibling`, inside the model's folder only: an absolute path, a
 * URL, `..` or a link out is `ExternalDataRefused`. A group whose shards hold more or fewer bytes than
 * its weights need is `TfjsShardMismatch`. A string weight of at most MAX_TFJS_STRING_METADATA_BYTES
 * whose strings are UTF-8 is kept in the metadata (TFJS_STRING_KEY_PREFIX + its name: JSON of its
 * shape and values); any other is left out with the reason. The embedded
 * form (`weightSpecs` and base64 `weightData` in the JSON) is read as one group whose data it holds.
 */

export interface TfjsShard {
  readonly path: string;
  readonly size: number;
  readonly group: number;
}

export interface TfjsStructure {
  readonly manifest: TfjsManifest;
  readonly shards: readonly TfjsShard[];
}

/** Metadata keys of string weights kept: `tfjs.string.<weight name>`. */
export const TFJS_STRING_KEY_PREFIX = 'tfjs.string.';

const DTYPE_OF: Record<'float32' | 'int32' | 'bool' | 'complex64', Dtype> = { float32: 'F32', int32: 'I32', bool: 'BOOL', complex64: 'C64' };
const BYTES_OF: Record<'float32' | 'int32' | 'bool' | 'complex64', number> = { float32: 4, int32: 4, bool: 1, complex64: 8 };

export const tfjsReader: FormatReader<TfjsStructure> = {
  async open(source: ByteSource, options?: OpenOptions): Promise<ParsedModel<TfjsStructure>> {
    const file = source.name;
    if (source.size > MAX_TFJS_JSON_BYTES) {
      throw new TfjsError('TfjsLimit', `${file}: model.json is ${source.size} bytes, more than MAX_TFJS_JSON_BYTES (${MAX_TFJS_JSON_BYTES})`, { location: file });
    }
    const text = new TextDecoder().decode(await source.read(0, source.size));
    const manifest = parseTfjsManifest(text, file);
    const opened = new Map<string, ByteSource>();
    try {
      return await openWeights(source, manifest, options, opened);
    } catch (e) {
      for (const s of opened.values()) await s.close?.();
      throw e;
    }
  },

  async scan(source, ctx) {
    const text = new TextDecoder().decode(await source.read(0, Math.min(source.size, MAX_TFJS_JSON_BYTES)));
    scanTfjsModelJson(text, ctx, source.name);
    if (ctx.escapesFolder !== undefined) await scanShardLinks(text, ctx, ctx.escapesFolder);
  },

  describe: (parsed) => describeTfjs(parsed.structure),
  runner: tfjsRunner,
};

async function openWeights(source: ByteSource, manifest: TfjsManifest, options: OpenOptions | undefined, opened: Map<string, ByteSource>): Promise<ParsedModel<TfjsStructure>> {
  const file = source.name;
  const parts: ByteSource[] = [];
  const shards: TfjsShard[] = [];
  const open = options?.openSibling;
  if (manifest.embedded) {
    // The embedded form: one group, its data in the JSON itself (the buffers of WeightData, in order).
    for (const [i, text] of manifest.embedded.entries()) {
      const name = manifest.embedded.length === 1 ? 'weightData' : `weightData[${i}]`;
      const part = new MemorySource(decodeBase64(text), `${file}:${name}`);
      parts.push(part);
      shards.push({ path: `${name} (embedded)`, size: part.size, group: 0 });
    }
  }
  for (const [g, group] of manifest.groups.entries()) {
    for (const path of group.paths) {
      const escape = pathEscape(path);
      if (escape !== undefined) {
        throw new TfjsError('ExternalDataRefused', `${file}: weight shard ${JSON.stringify(path)} (group ${g}) is refused: ${escape}; only files inside the model's folder are read`, { location: file });
      }
      if (!open) {
        throw new TfjsError('ExternalDataRefused', `${file}: weight shard ${JSON.stringify(path)} cannot be read: the model has no folder to read it from (open it with openModel from tensorsafe/node, or pass the open option openSibling)`, { location: file });
      }
      let s = opened.get(path);
      if (!s) opened.set(path, (s = await open(path)));
      parts.push(s);
      shards.push({ path, size: s.size, group: g });
    }
  }
  const data = new ShardSequence(parts, file);
  const tensors: TensorEntry[] = [];
  const leftOut: LeftOut[] = [];
  const dequantized: string[] = [];
  const widened: string[] = [];
  const metadata: Record<string, string> = Object.create(null) as Record<string, string>;
  const kept: string[] = [];
  let stringTotal = 0;
  let at = 0;
  for (const [g, group] of manifest.groups.entries()) {
    const groupStart = at;
    const groupBytes = shards.filter((s) => s.group === g).reduce((n, s) => n + s.size, 0);
    const groupEnd = groupStart + groupBytes;
    for (const spec of group.weights) {
      if (spec.dtype === 'string') {
        const length = await stringBytes(spec, data, at, groupEnd, file);
        const why = length > MAX_TFJS_STRING_METADATA_BYTES ? `more than MAX_TFJS_STRING_METADATA_BYTES (${MAX_TFJS_STRING_METADATA_BYTES}) to keep as metadata` : stringTotal + length > MAX_TFJS_STRING_METADATA_TOTAL ? `past MAX_TFJS_STRING_METADATA_TOTAL (${MAX_TFJS_STRING_METADATA_TOTAL}) of string weights kept as metadata` : undefined;
        const values = why === undefined ? stringValues(await data.read(at, length), spec.shape.reduce((n, d) => n * d, 1)) : undefined;
        if (values === undefined) {
          leftOut.push({ path: spec.name, what: `a string weight of ${length} bytes, ${why ?? 'not UTF-8 text'}: tensors hold numbers only` });
        } else {
          metadata[`${TFJS_STRING_KEY_PREFIX}${spec.name}`] = JSON.stringify({ shape: spec.shape, values });
          kept.push(`\`${spec.name}\``);
          stringTotal += length;
        }
        at += length;
        continue;
      }
      const entry = weightEntry(spec, data, at);
      const stored = entry.stored;
      if (at + stored > groupEnd) {
        throw new TfjsError('TfjsShardMismatch', `${file}: the shards of group ${g} hold ${groupBytes} bytes, fewer than its weights need (weight ${JSON.stringify(spec.name)} ends at byte ${at + stored - groupStart} of the group)`, { location: file });
      }
      if (spec.quantization?.dtype === 'float16') widened.push(`\`${spec.name}\``);
      else if (spec.quantization) dequantized.push(`\`${spec.name}\` (${spec.quantization.dtype} → ${spec.dtype})`);
      tensors.push(entry.tensor);
      at += stored;
    }
    if (at !== groupEnd) {
      throw new TfjsError('TfjsShardMismatch', `${file}: the shards of group ${g} (${groupPaths(shards, g)}) hold ${groupBytes} bytes, more than the ${at - groupStart} its weights need`, { location: file });
    }
  }
  const notes: string[] = [];
  if (dequantized.length > 0) notes.push(`${dequantized.length} ${dequantized.length === 1 ? 'weight' : 'weights'} dequantized as tfjs-core does (q * scale + min): ${listed(dequantized, MAX_NAMES_IN_NOTE)}`);
  if (widened.length > 0) notes.push(`${widened.length} float16 ${widened.length === 1 ? 'weight' : 'weights'} widened to float32: ${listed(widened, MAX_NAMES_IN_NOTE)}`);
  if (kept.length > 0) notes.push(`string weights kept in the metadata as \`${TFJS_STRING_KEY_PREFIX}<name>\` (JSON of shape and values): ${listed(kept, MAX_NAMES_IN_NOTE)}`);
  return {
    tensors: {
      format: 'tfjs',
      tensors,
      leftOut,
      notes,
      ...(kept.length > 0 ? { metadata } : {}),
      close: async () => {
        for (const s of opened.values()) await s.close?.();
        opened.clear();
        await source.close?.();
      },
    },
    structure: { manifest, shards },
  };
}

function groupPaths(shards: readonly TfjsShard[], g: number): string {
  return shards.filter((s) => s.group === g).map((s) => JSON.stringify(s.path)).join(', ') || 'no shards';
}

/** A weight's entry, and the bytes it takes in the shards. */
function weightEntry(spec: TfjsWeightSpec, data: ShardSequence, start: number): { tensor: TensorEntry; stored: number } {
  const dtype = spec.dtype as 'float32' | 'int32' | 'bool' | 'complex64';
  const elements = spec.shape.reduce((n, d) => n * d, 1);
  const q = spec.quantization;
  const storedPer = q ? quantizedBytes(q) : BYTES_OF[dtype];
  const stored = elements * storedPer;
  const byteLength = elements * BYTES_OF[dtype];
  if (!Number.isSafeInteger(byteLength)) {
    throw new TfjsError('InvalidTfjs', `${data.name}: weight ${JSON.stringify(spec.name)} of shape [${spec.shape.join(', ')}] has more elements than can be addressed`, { location: data.name });
  }
  const tensor: TensorEntry = {
    name: spec.name,
    dtype: DTYPE_OF[dtype],
    shape: [...spec.shape],
    byteLength,
    encoding: q ? { layout: 'decoded', decoder: `tfjs-${q.dtype}` } : STORED,
    fidelity: !q ? 'exact' : q.dtype === 'float16' ? 'lossless' : 'derived',
    async *chunks(chunkBytes = DEFAULT_CHUNK_BYTES) {
      // Whole elements per chunk, in and out.
      const per = Math.max(1, Math.floor(chunkBytes / BYTES_OF[dtype]));
      for (let e = 0; e < elements; e += per) {
        const n = Math.min(per, elements - e);
        const bytes = await data.read(start + e * storedPer, n * storedPer);
        yield q ? dequantize(q, dtype as 'float32' | 'int32', bytes) : bytes;
      }
    },
  };
  return { tensor, stored };
}

/** The strings of a string weight's bytes (each a uint32 length and its bytes), or undefined when one is not UTF-8. */
function stringValues(bytes: Uint8Array, elements: number): string[] | undefined {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
  const values: string[] = [];
  let at = 0;
  try {
    for (let i = 0; i < elements; i++) {
      const n = view.getUint32(at, true);
      values.push(utf8.decode(bytes.subarray(at + 4, at + 4 + n)));
      at += 4 + n;
    }
  } catch {
    return undefined;
  }
  return values;
}

/** Bytes of a string weight: each element a uint32 length (little-endian) and that many bytes, as tfjs-core walks them. */
async function stringBytes(spec: TfjsWeightSpec, data: ShardSequence, start: number, end: number, file: string): Promise<number> {
  const elements = spec.shape.reduce((n, d) => n * d, 1);
  if (elements > MAX_TFJS_STRING_ELEMENTS) {
    throw new TfjsError('TfjsLimit', `${file}: string weight ${JSON.stringify(spec.name)} has ${elements} elements, more than MAX_TFJS_STRING_ELEMENTS (${MAX_TFJS_STRING_ELEMENTS})`, { location: file });
  }
  let at = start;
  for (let i = 0; i < elements; i++) {
    if (at + 4 > end) throw new TfjsError('TfjsShardMismatch', `${file}: string weight ${JSON.stringify(spec.name)} runs past the end of its group's shards`, { location: file });
    const b = await data.read(at, 4);
    at += 4 + new DataView(b.buffer, b.byteOffset, 4).getUint32(0, true);
    if (at > end) throw new TfjsError('TfjsShardMismatch', `${file}: string weight ${JSON.stringify(spec.name)} runs past the end of its group's shards`, { location: file });
  }
  return at - start;
}

/** Names listed in one note, at most: a model of 600 quantized weights gets a note, not a page. */
const MAX_NAMES_IN_NOTE = 10;


/**
 * A local model's shard paths that the rules found inside its folder but that lead out of it on disk (a
 * symbolic link to /etc/shadow named group1-shard1of1.bin): tfjs-node's file loader reads them.
 */
async function scanShardLinks(text: string, ctx: ScanContext, escapes: (relative: string) => Promise<string | undefined>): Promise<void> {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return; // reported by the rules
  }
  const manifest = Array.isArray(json) ? json : typeof json === 'object' && json !== null ? (json as Record<string, unknown>)['weightsManifest'] : undefined;
  if (!Array.isArray(manifest)) return;
  let checked = 0;
  for (const [g, group] of manifest.entries()) {
    const paths = typeof group === 'object' && group !== null ? (group as Record<string, unknown>)['paths'] : undefined;
    if (!Array.isArray(paths)) continue;
    for (const [k, p] of paths.entries()) {
      if (typeof p !== 'string' || p === '') continue;
      if (++checked > MAX_TFJS_PATHS) return;
      const why = await escapes(p);
      if (why !== undefined) {
        ctx.report({ severity: 'suspicious', rule: 'tfjs/weights-path-outside', message: `weightsManifest[${g}].paths[${k}] = ${JSON.stringify(p)} ${why}: the loader would read it as weights`, location: ctx.file });
      }
    }
  }
}
