import { Fields } from '../../io/cursor.js';
import { hasSignature, resolveZip64, SIG_CENTRAL } from './bytes.js';
import { MAX_ZIP_ENTRIES } from './limits.js';
import { decodeName } from './names.js';
import type { Reporter } from './report.js';

/** Bytes of a central-directory file header before its name, extra field and comment. */
export const CENTRAL_HEADER_BYTES = 46;

/** One central-directory record, ZIP64 values resolved. */
export interface CentralRecord {
  /** Absolute offset of the record. */
  recordOffset: number;
  versionMadeBy: number;
  versionNeeded: number;
  flags: number;
  method: number;
  modTime: number;
  modDate: number;
  crc32: number;
  compressedSize: number;
  size: number;
  diskStart: number;
  internalAttributes: number;
  externalAttributes: number;
  /** As recorded: relative to the archive's start. */
  localHeaderOffset: number;
  nameBytes: Uint8Array;
  name: string;
  /** False when flag 0x800 is set but the name is not valid UTF-8. */
  nameValid: boolean;
  extra: Uint8Array;
  zip64: boolean;
}

/**
 * Parses the central directory's records. Like CPython's zipfile, every record within the directory's
 * declared size is read, whatever the end record's count says (a disagreement is a CountMismatch), so a
 * scanner sees every entry that any reader could.
 */
export function parseCentralDirectory(cd: Uint8Array, cdStart: number, declaredCount: number, reporter: Reporter): CentralRecord[] {
  const f = new Fields(cd);
  const records: CentralRecord[] = [];
  let at = 0;
  while (at < cd.length) {
    const recordOffset = cdStart + at;
    if (at + CENTRAL_HEADER_BYTES > cd.length || !hasSignature(cd, at, SIG_CENTRAL)) {
      const problem =
        at + CENTRAL_HEADER_BYTES > cd.length
          ? `the central directory ends ${cd.length - at} bytes into a record`
          : `no central-directory record signature (PK\\x01\\x02) at offset ${recordOffset}`;
      if (records.length === 0) reporter.fail('BadCentralDirectory', `${problem}: this is not a central directory`, { offset: recordOffset });
      reporter.report('BadCentralDirectory', `${problem}; the ${records.length} records before it are kept`, { offset: recordOffset });
      break;
    }
    const nameLength = f.u16(at + 28);
    const extraLength = f.u16(at + 30);
    const commentLength = f.u16(at + 32);
    const end = at + CENTRAL_HEADER_BYTES + nameLength + extraLength + commentLength;
    if (end > cd.length) {
      const problem = `the central-directory record at offset ${recordOffset} runs ${end - cd.length} bytes past the end of the directory`;
      if (records.length === 0) reporter.fail('BadCentralDirectory', problem, { offset: recordOffset });
      reporter.report('BadCentralDirectory', `${problem}; the ${records.length} records before it are kept`, { offset: recordOffset });
      break;
    }
    if (records.length >= MAX_ZIP_ENTRIES) {
      reporter.fail('TooManyEntries', `the central directory holds more than MAX_ZIP_ENTRIES (${MAX_ZIP_ENTRIES}) entries`, { offset: recordOffset });
    }
    const flags = f.u16(at + 8);
    const nameBytes = cd.subarray(at + CENTRAL_HEADER_BYTES, at + CENTRAL_HEADER_BYTES + nameLength);
    const extra = cd.subarray(at + CENTRAL_HEADER_BYTES + nameLength, at + CENTRAL_HEADER_BYTES + nameLength + extraLength);
    const { name, valid } = decodeName(nameBytes, flags);
    const z = resolveZip64(extra, { size: f.u32(at + 24), compressedSize: f.u32(at + 20), offset: f.u32(at + 42), disk: f.u16(at + 34) });
    if (z.problem !== undefined) reporter.report('Zip64Invalid', `entry ${JSON.stringify(name)}: ${z.problem}`, { entry: name, offset: recordOffset });
    records.push({
      recordOffset,
      versionMadeBy: f.u16(at + 4),
      versionNeeded: f.u16(at + 6),
      flags,
      method: f.u16(at + 10),
      modTime: f.u16(at + 12),
      modDate: f.u16(at + 14),
      crc32: f.u32(at + 16),
      compressedSize: z.compressedSize,
      size: z.size,
      diskStart: z.disk,
      internalAttributes: f.u16(at + 36),
      externalAttributes: f.u32(at + 38),
      localHeaderOffset: z.offset,
      nameBytes,
      name,
      nameValid: valid,
      extra,
      zip64: z.zip64,
    });
    at = end;
  }
  if (records.length !== declaredCount) {
    reporter.report('CountMismatch', `the end record declares ${declaredCount} entries but the central directory holds ${records.length}`, {
      offset: cdStart,
    });
  }
  return records;
}
