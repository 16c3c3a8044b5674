import type { ByteSource } from '../../io/byte-source.js';
import { FormatProblem } from '../../io/format-problem.js';
import type { ScanContext } from '../findings.js';
import { at, Findings, show } from '../scan-rules.js';
import { ggmlVersionName, readGgmlHeader, type GgmlFile } from './header.js';

/**
 * Legacy GGML files (ggml, ggmf, ggjt): hyperparameters, a vocabulary and tensors, all data. No loader
 * runs anything in them: the vocabulary is strings and scores, never a template or code. The rules
 * check the structure as header.ts walks it (the llama layout, tensors to the end of the file); a
 * problem is a finding.
 *
 * Rules: `ggml/valid` (info); `ggml/malformed`, `ggml/limit-exceeded` (suspicious).
 * Misses: anything about the tensor values; in files older than ggjt v3, the tensors after the first
 * quantized one (their block sizes changed between versions: the walk stops there, and says so).
 */
export async function scanGgml(source: ByteSource, ctx: ScanContext, parsed?: GgmlFile): Promise<void> {
  const findings = new Findings(ctx);
  let file = parsed;
  if (file === undefined) {
    try {
      file = await readGgmlHeader(source);
    } catch (e) {
      if (!(e instanceof FormatProblem)) throw e;
      findings.problem('ggml', e, ctx.file, 'the legacy GGML file');
    }
  }
  if (file !== undefined) {
    const walked = file.stoppedAt
      ? `${file.tensors.length} tensors walked before ${show(file.stoppedAt.name)}, whose ${file.stoppedAt.typeName} blocks changed between versions (the rest is not checked)`
      : `${file.tensors.length} tensors, ending exactly at the end of the file`;
    findings.add(
      'info',
      'ggml/valid',
      `legacy GGML file (${ggmlVersionName(file)}), llama layout, ${file.vocab.entries} vocabulary entries, ${walked}; it holds data only and cannot carry code`,
      at(ctx.file, 0),
    );
  }
  findings.flush();
}
