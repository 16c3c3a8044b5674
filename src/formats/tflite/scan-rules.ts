import type { ByteSource } from '../../io/byte-source.js';
import type { ScanContext } from '../findings.js';
import { PagedReader } from '../../io/cursor.js';
import { FlatBuffer } from '../flatbuffers/tables.js';
import { TFLITE_LIMITS as LIMITS } from './limits.js';
import { modelTable, operatorCode } from './model.js';
import { malformed } from '../../io/format-problem.js';
import { at, Findings, guarded, pathEscape, show } from '../scan-rules.js';

/**
 * TFLite (tensorflow/compiler/mlir/lite/schema/schema.fbs): a FlatBuffer with file identifier `TFL3`
 * whose root is a Model. A TFLite model runs only the operators the interpreter has: builtin ones,
 * and custom ones the application registers (native code: a custom op in a model is a dependency on
 * code that is not in the file; `Flex*` ops are TensorFlow ops run by the Flex delegate). The scan
 * reads the tables with a bounded FlatBuffer reader (every offset, vtable and vector checked against
 * the file): operator codes, subgraphs (tensors' buffer indices, operators' opcode indices, large
 * custom options), buffers (inline data vectors and, in >2 GB models, data at offset/size outside the
 * FlatBuffer: all must lie inside the file), and external buffer groups (schema 3d: files named by the
 * model, checked like ONNX external data). Buffer contents are never read.
 *
 * Rules: `tflite/valid`, `tflite/custom-op`, `tflite/flex-op`, `tflite/external-buffer` (info);
 * `tflite/external-buffer-outside` (dangerous); `tflite/malformed`, `tflite/limit-exceeded` (suspicious).
 * Misses: what custom operators do; the contents of custom options and metadata buffers; tensor values.
 */

export { MAX_TFLITE_TABLES, MAX_TFLITE_VECTOR_LENGTH, MAX_TFLITE_STRING_BYTES } from './limits.js';
/** BuiltinOperator CUSTOM. */
const CUSTOM = 32;

export async function scanTflite(source: ByteSource, ctx: ScanContext): Promise<void> {
  const findings = new Findings(ctx);
  let summary = '';
  const ok = await guarded(findings, 'tflite', ctx.file, 'the TFLite model', async () => {
    summary = await scan(new FlatBuffer(new PagedReader(source), LIMITS), source.size, ctx.file, findings);
  });
  if (ok && !findings.has('suspicious', 'dangerous')) findings.add('info', 'tflite/valid', summary, ctx.file);
  findings.flush();
}

async function scan(fb: FlatBuffer, size: number, file: string, findings: Findings): Promise<string> {
  const model = await modelTable(fb, size);
  const version = await fb.scalarU32(model, 0, 'Model.version');

  const bufferCount = (await fb.vector(model, 4, 4, 'Model.buffers'))?.[1] ?? 0;
  for await (const [b, i] of fb.tablesOf(model, 4, 'Model.buffers')) {
    await fb.vector(b, 0, 1, `the data of buffer ${i}`); // inline data must be inside the file
    const offset = await fb.scalarU64(b, 1, `Buffer ${i}.offset`);
    const length = await fb.scalarU64(b, 2, `Buffer ${i}.size`);
    if (offset > 1n && offset + length > BigInt(size)) {
      throw malformed(`buffer ${i} places its data at [${offset}, ${offset + length}), past the end of the file (${size} bytes)`, b.pos);
    }
  }

  const codes: { builtin: number; custom: string | undefined }[] = [];
  for await (const [c, i] of fb.tablesOf(model, 1, 'Model.operator_codes')) {
    const { builtin, custom } = await operatorCode(fb, c, i);
    codes.push({ builtin, custom });
    if (builtin === CUSTOM) {
      const name = custom ?? '';
      if (name.startsWith('Flex')) {
        findings.add('info', 'tflite/flex-op', `operator code ${i} is the TensorFlow op ${show(name.slice(4))} (Flex delegate): it runs only with the TensorFlow select-ops library linked into the app`, at(file, c.pos));
      } else {
        findings.add('info', 'tflite/custom-op', `operator code ${i} is the custom operator ${show(name)}: it runs native code the application must register (the model cannot run without it)`, at(file, c.pos));
      }
    }
  }

  const externalCount = (await fb.vector(model, 9, 4, 'Model.external_buffers'))?.[1] ?? 0;
  for await (const [g, i] of fb.tablesOf(model, 8, 'Model.external_buffer_groups')) {
    const name = (await fb.string(g, 0, `ExternalBufferGroup ${i}.name`)) ?? '';
    const reason = name === '' ? 'it is empty' : pathEscape(name);
    if (reason !== undefined) {
      findings.add(
        'dangerous',
        'tflite/external-buffer-outside',
        `external buffer group ${i} reads tensor data from ${show(name)}: ${reason}. An interpreter would read that file as weights`,
        at(file, g.pos),
      );
    } else {
      findings.add('info', 'tflite/external-buffer', `external buffer group ${i} reads tensor data from the file ${show(name)} next to the model`, at(file, g.pos));
    }
  }

  let subgraphs = 0;
  let operators = 0;
  let tensors = 0;
  for await (const [sg, s] of fb.tablesOf(model, 2, 'Model.subgraphs')) {
    subgraphs++;
    for await (const [t, i] of fb.tablesOf(sg, 0, `subgraph ${s} tensors`)) {
      tensors++;
      const buffer = await fb.scalarU32(t, 2, `tensor ${i} of subgraph ${s}`);
      if (buffer >= Math.max(bufferCount, 1)) throw malformed(`tensor ${i} of subgraph ${s} uses buffer ${buffer}, but there are ${bufferCount}`, t.pos);
      const ext = await fb.scalarU32(t, 10, `tensor ${i} of subgraph ${s}`);
      if (ext !== 0 && ext > externalCount) throw malformed(`tensor ${i} of subgraph ${s} uses external buffer ${ext}, but there are ${externalCount}`, t.pos);
    }
    for await (const [op, i] of fb.tablesOf(sg, 3, `subgraph ${s} operators`)) {
      operators++;
      const index = await fb.scalarU32(op, 0, `operator ${i} of subgraph ${s}`);
      if (index >= codes.length) throw malformed(`operator ${i} of subgraph ${s} uses operator code ${index}, but there are ${codes.length}`, op.pos);
      await fb.vector(op, 5, 1, `the custom options of operator ${i} of subgraph ${s}`);
      const offset = await fb.scalarU64(op, 9, `operator ${i} of subgraph ${s}`);
      const length = await fb.scalarU64(op, 10, `operator ${i} of subgraph ${s}`);
      if (offset > 1n && offset + length > BigInt(size)) {
        throw malformed(`operator ${i} of subgraph ${s} places its custom options at [${offset}, ${offset + length}), past the end of the file`, op.pos);
      }
    }
  }
  if (subgraphs === 0) throw malformed('the model has no subgraph', model.pos);
  const customs = codes.filter((c) => c.builtin === CUSTOM).length;
  return `TFLite schema version ${version}: ${subgraphs} subgraph${subgraphs === 1 ? '' : 's'}, ${n(tensors, 'tensor')}, ${n(operators, 'operator')}, ${n(codes.length, 'operator code')} (${customs} custom), ${n(bufferCount, 'buffer')}`;
}

function n(count: number, word: string): string {
  return `${count} ${word}${count === 1 ? '' : 's'}`;
}
