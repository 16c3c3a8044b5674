// Apart from inflate.ts so that the other decoders, and the entry reader, do not load fflate with it.

/**
 * Why an inflate failed: output past the expected size, output short of it, or undecodable data.
 * Internal control flow, not a TensorsafeError: the decoders are only called by ZipEntry and the member
 * streams (inflate-stream.ts, decoded-member.ts), which turn every InflateProblem into a ZipError
 * (BadDeflate, SizeMismatch) naming the entry, or into a member's `problem`; none escapes.
 */
export class InflateProblem extends Error {
  constructor(
    readonly kind: 'TooLong' | 'TooShort' | 'BadDeflate',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'InflateProblem';
  }
}
