import type { ByteSource } from '../../io/byte-source.js';
import type { ScanContext } from '../findings.js';
import { at, Findings, guarded, pathEscape, show } from '../scan-rules.js';
import type { CoremlStructure } from './reader.js';

/**
 * Core ML (Model.proto, NeuralNetwork.proto, MIL.proto). A Core ML model runs the layers and MIL
 * operations Core ML has, and also:
 *  - custom layers (CustomLayerParams) and custom models (CustomModel): a class the app provides, native
 *    code outside the file, is loaded by name;
 *  - linked models (LinkedModel): another compiled model, loaded by file name and search path;
 *  - serialized models (SerializedModel): opaque bytes handed to a private loader;
 *  - ML programs' weight blobs (BlobFileValue, BLOBFILE in MIL text): files read by name, which must be
 *    `@model_path/…` inside the model's folder;
 *  - a package's Manifest.json: the root model it names must be inside the package.
 * The scan reads the structure (the same parse the reader makes), never a weight value.
 *
 * Rules: `coreml/valid`, `coreml/custom-layer`, `coreml/custom-model`, `coreml/linked-model`,
 * `coreml/serialized-model` (suspicious: code or files the model needs beyond itself);
 * `coreml/blob-outside`, `coreml/root-outside` (dangerous); `coreml/malformed`, `coreml/limit-exceeded`.
 * Misses: what custom classes do; symbolic links inside the folder (the reader refuses links out).
 */
export async function scanCoreml(source: ByteSource, ctx: ScanContext, parsed: CoremlStructure | undefined, parse: (s: ByteSource) => Promise<CoremlStructure>): Promise<void> {
  const findings = new Findings(ctx);
  const file = ctx.file;
  let summary = '';
  const ok = await guarded(findings, 'coreml', file, 'the Core ML model', async () => {
    const s = parsed ?? (await parse(source));
    summary = check(s, file, findings);
  });
  if (ok && !findings.has('suspicious', 'dangerous')) findings.add('info', 'coreml/valid', summary, file);
  findings.flush();
}

function check(s: CoremlStructure, file: string, findings: Findings): string {
  if (s.root !== undefined) {
    const escape = pathEscape(s.root.slice('Data/'.length));
    if (escape !== undefined) findings.add('dangerous', 'coreml/root-outside', `Manifest.json names the root model ${show(s.root)}: ${escape}`, file);
  }
  const blob = (fileName: string, what: string, offset?: number): void => {
    const rest = fileName.startsWith('@model_path/') ? fileName.slice('@model_path/'.length) : undefined;
    const escape = rest === undefined ? 'it is not under @model_path/ (the model folder)' : pathEscape(rest);
    if (escape !== undefined) findings.add('dangerous', 'coreml/blob-outside', `${what} reads its weights from ${show(fileName)}: ${escape}. Core ML would read that file as weights`, at(file, offset));
  };
  const m = s.model;
  if (m !== undefined) {
    for (const c of m.customLayers) findings.add('suspicious', 'coreml/custom-layer', `layer ${show(c.layer)} is a custom layer of class ${show(c.className)}: Core ML runs it with code the app must provide`, at(file, c.at));
    for (const c of m.customModels) findings.add('suspicious', 'coreml/custom-model', `the model is a custom model of class ${show(c.className)}: Core ML runs it with code the app must provide`, at(file, c.at));
    for (const l of m.linkedModels) findings.add('suspicious', 'coreml/linked-model', `the model links the compiled model ${show(l.fileName)} (search path ${show(l.searchPath)}): Core ML loads that file`, at(file, l.at));
    for (const x of m.serialized) findings.add('suspicious', 'coreml/serialized-model', `the model holds a serialized model ${show(x.identifier)}: opaque bytes for a private loader`, at(file, x.at));
    for (const op of m.ops) {
      const values = [...op.attributes.values(), ...[...op.inputs.values()].flat().flatMap((b) => ('value' in b ? [b.value] : []))];
      for (const v of values) if (v.blob !== undefined) blob(v.blob.fileName, `operation ${op.type} ${show(op.outputs[0]?.name ?? '')}`, v.at);
    }
    const types = [...new Set(m.types.map((t) => t.type))].join(', ');
    return `Core ML specification version ${m.specificationVersion}: ${types || 'no model'}; ${m.nn.length} neural network weights, ${m.ops.length} MIL operations`;
  }
  if (s.program !== undefined) {
    for (const c of s.program.consts) if (c.blob !== undefined) blob(c.blob.fileName, `const ${show(c.name)} (line ${c.line})`);
    return `MIL text program(${s.program.version}): ${s.program.consts.length} constants`;
  }
  return `Core ML package manifest: root model ${show(s.root ?? '')}`;
}
