import { TensorsafeError, type PickleErrorCode } from '../../errors.js';

/** These codes are part of the one union of src/errors.ts, where each is documented. */
export type { PickleErrorCode };

/** An error of a pickle stream; `offset` is the opcode's position in the stream. */
export class PickleError extends TensorsafeError {
  declare readonly code: PickleErrorCode;
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
    return new PickleError(this.code, this.detail, this.where, this.offset + delta);
  }
}
