import type { ByteSource } from '../../io/byte-source.js';
import { FormatProblem } from '../../io/format-problem.js';
import type { ScanContext } from '../findings.js';
import { at, Findings } from '../scan-rules.js';
import { readMxnetFile, type MxnetFile } from './header.js';

/**
 * MXNet NDArray lists: a header, arrays and names, all data; mx.nd.load runs nothing in them. The rules
 * check the structure as header.ts walks it; a problem is a finding.
 *
 * Rules: `mxnet/valid` (info); `mxnet/malformed`, `mxnet/limit-exceeded`, `mxnet/trailing-data` (suspicious).
 * Misses: the values; a sparse array's indices are checked when it is opened (inspect, convert), not here.
 */
export async function scanMxnet(source: ByteSource, ctx: ScanContext, parsed?: MxnetFile): Promise<void> {
  const findings = new Findings(ctx);
  let file = parsed;
  if (file === undefined) {
    try {
      file = await readMxnetFile(source);
    } catch (e) {
      if (!(e instanceof FormatProblem)) throw e;
      findings.problem('mxnet', e, ctx.file, 'the MXNet NDArray file');
    }
  }
  if (file !== undefined) {
    const sparse = file.arrays.filter((a) => a.storage !== 'default').length;
    findings.add(
      'info',
      'mxnet/valid',
      `MXNet NDArray list of ${file.arrays.length} arrays${sparse ? ` (${sparse} sparse)` : ''}, ${file.names.length ? `${file.names.length} names` : 'no names'}; it holds data only and cannot carry code`,
      at(ctx.file, 0),
    );
    if (file.end < source.size) {
      findings.add('suspicious', 'mxnet/trailing-data', `${source.size - file.end} bytes follow the names, which MXNet never reads: a file that may be two formats at once`, at(ctx.file, file.end));
    }
  }
  findings.flush();
}
