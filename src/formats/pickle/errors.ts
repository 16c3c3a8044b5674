import { TensorsafeError } from '../../errors.js';

export type PickleErrorCode =
  /** A global on the denylist, or reached by a dotted name: the file would run code. */
  | 'UnsafeGlobal'
  /** A global that is neither allowlisted nor known to be dangerous (strict mode). */
  | 'UnsupportedGlobal'
  | 'PickleTruncated'
  | 'InvalidOpcode'
  | 'InvalidPickle'
  | 'UnsupportedProtocol'
  | 'StackUnderflow'
  | 'MarkMissing'
  | 'MemoMissing'
  | 'FrameMismatch'
  | 'PickleLimit';

/** An error of a pickle stream; `offset` is the opcode's position in the stream. */
export class PickleError extends TensorsafeError {
  constructor(
    code: PickleErrorCode,
    /** The problem without its place. */
    readonly detail: string,
    readonly where: string,
    readonly offset: number,
  ) {
    super(code, `${where} at byte ${offset}: ${detail}`, { location: `${where}@${offset}` });
    this.name = 'PickleError';
  }

  /** The same error at a position shifted by `delta` (a pickle read from inside a larger file). */
  shifted(delta: number): PickleError {
    return new PickleError(this.code as PickleErrorCode, this.detail, this.where, this.offset + delta);
  }
}
