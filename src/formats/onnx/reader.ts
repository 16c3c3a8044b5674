import type { ByteSource } from '../../io/byte-source.js';
import { PagedReader } from '../../io/cursor.js';
import { FormatProblem } from '../../io/format-problem.js';
import type { LeftOut, TensorEntry } from '../../tensor/tensor-set.js';
import type { FormatReader, OpenOptions, ParsedModel } from '../format.js';
import { pathEscape } from '../scan-rules.js';
import { claimName } from '../tensor-names.js';
import { OnnxError } from './errors.js';
import { parseOnnxModel, type OnnxModel } from './model.js';
import { scanOnnx } from './scan-rules.js';
import { onnxDtypeName } from './dtype.js';
import { describeOnnx } from './view.js';
import { onnxRunner } from './runner.js';
import { tensorEntry, type ExternalOpener } from './tensors.js';

/**
 * ONNX models as TensorSets. Opening walks the ModelProto once and locates every weight; no tensor
 * byte is read until it is streamed (typed fields are decoded then; raw_data and external data are
 * read as they lie). Names:
 *  - a main-graph initializer keeps its name;
 *  - a main-graph Constant node's value is named by the node's output (the name the graph uses);
 *  - inside a subgraph, both are prefixed by the path of graph attributes that reach it:
 *    `<node>/<attribute>/<name>` (`loop0/body/w`, `if0/then_branch/inner_if/else_branch/c`), where
 *    `<node>` is the node's name, or `<op_type>#<index in its graph>` when it has none, and a GRAPHS
 *    attribute's graphs are `<attribute>[i]`;
 *  - a name that is still taken gets `#2`, `#3`, … and a note.
 * Decoded as they stream, with a note: INT4/UINT4 unpacked to I8/U8, sparse tensors densified.
 * Refused with a coded error: complex128 and odd-count FLOAT4E2M1 tensors (UnsupportedTensor), data that
 * does not match its dims, bad sparse indices (InvalidOnnx), external data outside the model's folder
 * (ExternalDataRefused) or whose bytes miss their `checksum` (ExternalDataChecksum, while streaming).
 * Left out with a reason: string tensors, Constant values that are not numbers, tensor segments,
 * constants of model-local functions and tensors of training graphs.
 */

/** Page of the protobuf reader: small, so opening reads (almost) only the graph's structure. */
export const ONNX_PAGE_BYTES = 16 * 1024;

export interface OnnxStructure {
  readonly model: OnnxModel;
}

export const onnxReader: FormatReader<OnnxStructure> = {
  async open(source: ByteSource, options?: OpenOptions): Promise<ParsedModel<OnnxStructure>> {
    let model: OnnxModel;
    try {
      model = await parseOnnxModel(new PagedReader(source, ONNX_PAGE_BYTES), source.size);
    } catch (e) {
      throw coded(e, source.name);
    }
    const opened = new Map<string, ByteSource>();
    const openExternal = externalOpener(source.name, options, opened);
    const tensors: TensorEntry[] = [];
    const leftOut: LeftOut[] = [...model.leftOut];
    const notes: string[] = [];
    const taken = new Set<string>();
    const unpacked: string[] = [];
    const densified: string[] = [];
    try {
      for (const t of model.tensors) {
        if (t.problem !== undefined) {
          leftOut.push({ path: t.name, what: `${t.where}: ${t.problem}` });
          continue;
        }
        if (t.dataType === 8) {
          leftOut.push({ path: t.name, what: `a STRING tensor (${t.where}): safetensors holds numbers only` });
          continue;
        }
        const name = claimName(taken, t.name);
        if (name !== t.name) notes.push(`\`${t.name}\` (${t.where}) is named \`${name}\`: its name was taken`);
        const entry = await tensorEntry({ ...t, name }, source, source.name, openExternal);
        if (entry.encoding.decoder === 'int4-unpack') unpacked.push(`\`${name}\` (${onnxDtypeName(t.dataType)} → ${entry.dtype})`);
        if (entry.encoding.decoder === 'sparse-densify') densified.push(`\`${name}\``);
        tensors.push(entry);
      }
    } catch (e) {
      await closeAll(opened);
      throw coded(e, source.name);
    }
    if (unpacked.length > 0) notes.push(`4-bit integers unpacked to one byte per element (INT4 sign-extended to I8, UINT4 to U8): ${unpacked.join(', ')}`);
    if (densified.length > 0) notes.push(`sparse tensors densified (zeros where no value is given): ${densified.join(', ')}`);
    if (model.subgraphs > 0) notes.push(`tensors of subgraphs are named by the path that reaches them: \`<node>/<attribute>/<name>\``);
    return {
      tensors: {
        format: 'onnx',
        tensors,
        leftOut,
        notes,
        close: async () => {
          await closeAll(opened);
          await source.close?.();
        },
      },
      structure: { model },
    };
  },

  scan: (source, ctx, parsed) => scanOnnx(source, ctx, parsed?.structure.model),
  describe: (parsed) => describeOnnx(parsed.structure.model),
  runner: onnxRunner,
};

/** A parser's FormatProblem as a coded error naming the file; others as they are. */
function coded(e: unknown, file: string): unknown {
  if (!(e instanceof FormatProblem)) return e;
  const location = e.locationIn(file);
  // Field 2 of a ModelProto is a string; of a TensorProto, a varint (data_type): ONNX's test data sets
  // and onnx.numpy_helper.from_array(...).SerializeToString() write such single tensors as `.pb` files.
  const tensorHint = e.message.startsWith('ModelProto.producer_name (field 2) has wire type varint')
    ? ' (its fields look like a single ONNX TensorProto, as the input_0.pb files of ONNX test data hold, not a ModelProto: onnx.numpy_helper.to_array reads it; tensorsafe reads models)'
    : '';
  return new OnnxError(e.kind === 'limit' ? 'OnnxLimit' : 'InvalidOnnx', `${file}: not a readable ONNX model: ${e.message}${tensorHint}`, { location, cause: e });
}

async function closeAll(opened: Map<string, ByteSource>): Promise<void> {
  for (const s of opened.values()) await s.close?.();
  opened.clear();
}

/** External files through the caller's opener (which keeps them inside the model's folder), each opened once. */
function externalOpener(file: string, options: OpenOptions | undefined, opened: Map<string, ByteSource>): ExternalOpener | undefined {
  const open = options?.openSibling;
  if (!open) return undefined;
  return async (location, tensor) => {
    const escape = pathEscape(location);
    if (escape !== undefined) {
      throw new OnnxError('ExternalDataRefused', `${file}: tensor ${JSON.stringify(tensor)} reads its data from ${JSON.stringify(location)}: ${escape}; only files inside the model's folder are read`, { location: file });
    }
    let s = opened.get(location);
    if (!s) opened.set(location, (s = await open(location)));
    return s;
  };
}
