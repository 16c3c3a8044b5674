import type { ByteSource } from '../../io/byte-source.js';
import { validateSource } from '../../safetensors/validate.js';
import type { ScanContext } from '../findings.js';

/**
 * safetensors holds tensors and string metadata only: nothing in it is ever run. The risk left is a
 * file that is not what it claims: a tampered or polyglot file (bytes after the last tensor, a header
 * that lies about the data), which the strict validator rejects. Only the header is read.
 *
 * Rules: `safetensors/valid` (info), `safetensors/invalid` (suspicious).
 * Misses: nothing about the tensor values themselves (a well-formed file with poisoned weights is valid).
 */
export async function scanSafetensors(source: ByteSource, ctx: ScanContext): Promise<void> {
  // validateSource turns every tensorsafe error into a verdict, I/O errors too: remember the source's
  // own failures so that they propagate instead of passing for a property of the file.
  let ioError: unknown;
  const watched: ByteSource = {
    size: source.size,
    name: source.name,
    read: (offset, length, options) =>
      source.read(offset, length, options).catch((e: unknown) => {
        ioError ??= e;
        throw e;
      }),
  };
  const result = await validateSource(watched);
  if (ioError !== undefined) throw ioError;
  if (result.ok) {
    const n = result.tensors;
    ctx.report({
      severity: 'info',
      rule: 'safetensors/valid',
      message: `${n} tensor${n === 1 ? '' : 's'}; the header and layout pass the reference checks; safetensors cannot carry code`,
      location: ctx.file,
    });
  } else {
    ctx.report({
      severity: 'suspicious',
      rule: 'safetensors/invalid',
      message: `not a valid safetensors file (${result.error.code}): ${result.error.message}. A loader may reject it, or read it differently from this check (tampered or polyglot file)`,
      location: ctx.file,
    });
  }
}
