import { isTensorsafeError, SafetensorError, type ErrorCode } from '../errors.js';
import type { ByteSource } from '../io/byte-source.js';
import type { SafetensorsHeader } from './header.js';
import { readHeader } from './reader.js';

/** The verdict on one file: valid with its tensor count, or the coded error. */
export type ValidationResult =
  | { ok: true; tensors: number; header: SafetensorsHeader }
  /** `unreadable`: the bytes could not be read (I/O, HTTP), as opposed to read and found invalid. */
  | { ok: false; error: { code: ErrorCode; message: string }; unreadable: boolean };

/**
 * Checks a file as the reference reader does (every check is on the header and the file
 * size; no tensor bytes are read). Errors that are not tensorsafe's own are rethrown.
 */
export async function validateSource(source: ByteSource): Promise<ValidationResult> {
  try {
    const header = await readHeader(source);
    return { ok: true, tensors: header.tensors.size, header };
  } catch (e) {
    if (isTensorsafeError(e)) return { ok: false, error: { code: e.code, message: e.message }, unreadable: !(e instanceof SafetensorError) };
    throw e;
  }
}
