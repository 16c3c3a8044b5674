import type { ByteSource } from '../../io/byte-source.js';
import type { ScanContext } from '../findings.js';
import { PagedReader } from '../../io/cursor.js';
import { at, Findings, guarded, pathEscape, show } from '../scan-rules.js';
import { parseOnnxModel, type OnnxModel, type OnnxScanFacts } from './model.js';

/**
 * ONNX (onnx/onnx.proto): a protobuf ModelProto. ONNX graphs are data; what reaches outside the file is
 *  - external data: a TensorProto with `data_location` = EXTERNAL (14) and `external_data` (13) entries
 *    whose `location` names the file its bytes are read from, relative to the model's folder. A location
 *    that is absolute, has `..` segments, a drive letter or a URL scheme (or ONNX Runtime's in-memory
 *    address marker) makes a loader read an arbitrary file (/etc/passwd, ~/.ssh/id_rsa) as weights,
 *    which then flow into the outputs;
 *  - custom operator domains: nodes in a domain other than the standard ones run native code from a
 *    library the application registers.
 * The walk (model.ts, the reader's own: one walk per file) covers the graph (7), its initializers (5),
 * sparse initializers (15), every node's attributes (tensors t/tensors, subgraphs g/graphs, sparse
 * tensors, recursively: If/Loop/Scan bodies), training info graphs (20) and model-local functions (25).
 * Raw tensor bytes are skipped, never read.
 *
 * Rules: `onnx/valid`, `onnx/external-data`, `onnx/custom-domain` (info); `onnx/external-data-outside`
 * (dangerous); `onnx/malformed`, `onnx/limit-exceeded` (suspicious).
 * Misses: symbolic links inside the model's folder (a local `weights.bin` that links to /etc/passwd:
 * only a scan with file-system access can see it); whether an external file exists; what custom
 * operators do; tensor values.
 */

/** Operator domains of the ONNX standard and ONNX Runtime's built-in contrib ops: no custom library needed. */
export const STANDARD_ONNX_DOMAINS: ReadonlySet<string> = new Set(['', 'ai.onnx', 'ai.onnx.ml', 'ai.onnx.training', 'ai.onnx.preview.training', 'com.microsoft']);
/** ONNX Runtime's marker for tensor data at a raw memory address (`offset`): reads the loader's own memory. */
const ORT_MEMORY_LOCATION = '*/_ORT_MEM_ADDR_/*';

/**
 * Scans one ONNX source. `model`, when given, is what an earlier open of the same source parsed (a
 * file is walked once per command); without it, the same walk (model.ts parseOnnxModel) runs here.
 */
export async function scanOnnx(source: ByteSource, ctx: ScanContext, parsed?: OnnxModel): Promise<void> {
  const findings = new Findings(ctx);
  let model = parsed;
  const ok =
    model !== undefined ||
    (await guarded(findings, 'onnx', ctx.file, 'the ONNX model', async () => {
      model = await parseOnnxModel(new PagedReader(source), source.size);
    }));
  if (model !== undefined) {
    const facts = model.facts;
    for (const ref of facts.external) externalFindings(findings, ctx.file, ref);
    const externalFiles = new Map<string, number>();
    for (const ref of facts.external) {
      for (const loc of ref.locations) if (loc.value !== '' && loc.value !== ORT_MEMORY_LOCATION && pathEscape(loc.value) === undefined) externalFiles.set(loc.value, (externalFiles.get(loc.value) ?? 0) + 1);
    }
    for (const [location, n] of externalFiles) {
      findings.add('info', 'onnx/external-data', `${n} tensor${n === 1 ? '' : 's'} read their data from the external file ${show(location)} next to the model`, ctx.file);
    }
    for (const [domain, ops] of facts.domains) {
      if (STANDARD_ONNX_DOMAINS.has(domain) || facts.functionDomains.has(domain)) continue;
      const list = [...ops].slice(0, 10).map(show).join(', ');
      findings.add(
        'info',
        'onnx/custom-domain',
        `nodes in the custom operator domain ${show(domain)} (${list}${ops.size > 10 ? ', …' : ''}): custom operators run native code from a library the application must register`,
        ctx.file,
      );
    }
    if (ok && !findings.has('suspicious', 'dangerous')) findings.add('info', 'onnx/valid', summary(model), ctx.file);
  }
  findings.flush();
}

function summary(m: OnnxModel): string {
  const f = m.facts;
  const parts = [`ONNX model, IR version ${m.irVersion ?? '?'}`];
  if (m.opsets.length) parts.push(`opsets ${m.opsets.join(', ')}`);
  if (m.producer || m.producerVersion) parts.push(`producer ${show(`${m.producer} ${m.producerVersion}`.trim())}`);
  parts.push(`${f.nodes} nodes, ${f.initializers} initializers (${f.externalTensors} external), ${f.subgraphs} subgraphs, ${f.functions} functions`);
  return parts.join('; ');
}

/** A tensor's external_data locations: several (loaders disagree), empty, or reaching outside the folder. */
function externalFindings(findings: Findings, file: string, ref: OnnxScanFacts['external'][number]): void {
  const { what, locations } = ref;
  if (locations.length > 1) {
    findings.add('suspicious', 'onnx/malformed', `${what} has ${locations.length} external_data locations (loaders disagree on which one is used)`, at(file, ref.at));
  }
  for (const loc of locations) {
    if (loc.value === '') {
      findings.add('suspicious', 'onnx/malformed', `${what} has an empty external_data location`, at(file, loc.at));
      continue;
    }
    const reason = loc.value === ORT_MEMORY_LOCATION ? "it is ONNX Runtime's in-memory marker: the data is read from the raw memory address given as its offset" : pathEscape(loc.value);
    if (reason !== undefined) {
      findings.add(
        'dangerous',
        'onnx/external-data-outside',
        `${what} reads its data from ${show(loc.value)}: ${reason}. A loader would read that file (e.g. /etc/passwd, a private key) as weights, and its bytes could leak through the model's outputs`,
        at(file, loc.at),
      );
    }
  }
}
