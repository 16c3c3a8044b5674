import type { ByteSource } from '../../io/byte-source.js';
import { Fields } from '../../io/cursor.js';
import { hasSignature, SIG_EOCD, SIG_EOCD64, SIG_EOCD64_LOCATOR, U16_MAX, U32_MAX } from './bytes.js';
import { EOCD_BYTES, EOCD_SEARCH_BYTES } from './limits.js';
import type { Reporter } from './report.js';

/** Bytes of the ZIP64 end-of-central-directory locator. */
export const EOCD64_LOCATOR_BYTES = 20;
/** Bytes of the ZIP64 end-of-central-directory record without its extensible data. */
export const EOCD64_BYTES = 56;

/** What the end records say about the central directory. */
export interface EndRecords {
  /** Absolute offset of the classic end record. */
  eocdOffset: number;
  /** The archive comment as far as the source holds it. */
  comment: Uint8Array;
  /** Bytes after the end record and its comment. */
  trailingBytes: number;
  /** A ZIP64 locator and record were found and used. */
  zip64: boolean;
  /** Absolute offset of the first end structure (the ZIP64 record when used, else the classic one): the directory ends here. */
  endStart: number;
  /** Entries the end record declares. */
  totalEntries: number;
  /** Central directory size and offset as recorded (the offset is relative to the archive's start). */
  cdSize: number;
  cdOffset: number;
  /** The last bytes of the source, read once, for reuse. */
  tail: Uint8Array;
  tailOffset: number;
}

/**
 * Finds and reads the end of central directory record, searching back at most EOCD_SEARCH_BYTES,
 * and the ZIP64 locator and record before it when present. Like CPython's zipfile and miniz
 * (which torch uses), the signature closest to the end wins.
 */
export async function readEndRecords(source: ByteSource, reporter: Reporter): Promise<EndRecords> {
  const size = source.size;
  if (size < EOCD_BYTES) reporter.fail('NotZip', `${size} bytes is too short for a zip archive (an end record alone is ${EOCD_BYTES} bytes)`);
  const tailLength = Math.min(size, EOCD_SEARCH_BYTES + EOCD64_LOCATOR_BYTES);
  const tailOffset = size - tailLength;
  const tail = await source.read(tailOffset, tailLength);
  const lowest = Math.max(0, tailLength - EOCD_SEARCH_BYTES);
  let i = tailLength - EOCD_BYTES;
  while (i >= lowest && !hasSignature(tail, i, SIG_EOCD)) i--;
  if (i < lowest) {
    reporter.fail('NotZip', `no end-of-central-directory record (PK\\x05\\x06) in the last ${tailLength - lowest} bytes: not a zip archive`);
  }
  const eocdOffset = tailOffset + i;
  const f = new Fields(tail);
  const disk = f.u16(i + 4);
  const cdDisk = f.u16(i + 6);
  const entriesOnDisk = f.u16(i + 8);
  let totalEntries = f.u16(i + 10);
  let cdSize = f.u32(i + 12);
  let cdOffset = f.u32(i + 16);
  const commentLength = f.u16(i + 20);
  const after = tailLength - (i + EOCD_BYTES);
  if (commentLength > after) {
    reporter.report('Truncated', `the archive comment declares ${commentLength} bytes but only ${after} follow the end record at offset ${eocdOffset}`, {
      offset: eocdOffset + EOCD_BYTES,
    });
  }
  const comment = tail.subarray(i + EOCD_BYTES, i + EOCD_BYTES + Math.min(commentLength, after));
  const trailingBytes = Math.max(0, after - commentLength);
  if (trailingBytes > 0) {
    reporter.report('TrailingData', `${trailingBytes} bytes follow the end of the archive (end record and comment end at offset ${size - trailingBytes}): an appended file?`, {
      offset: size - trailingBytes,
    });
  }

  const locatorAt = i - EOCD64_LOCATOR_BYTES;
  const zip64 = locatorAt >= 0 && hasSignature(tail, locatorAt, SIG_EOCD64_LOCATOR);
  let endStart = eocdOffset;
  if (!zip64) {
    if (disk !== 0 || cdDisk !== 0) {
      reporter.fail('Multidisk', `the end record names disk ${disk} and central-directory disk ${cdDisk}: multi-disk (split) archives are not supported`, {
        offset: eocdOffset,
      });
    }
    if (entriesOnDisk !== totalEntries) {
      reporter.report('CountMismatch', `the end record counts ${entriesOnDisk} entries on this disk but ${totalEntries} in total`, { offset: eocdOffset });
    }
  } else {
    const locatorOffset = eocdOffset - EOCD64_LOCATOR_BYTES;
    const eocd64Disk = f.u32(locatorAt + 4);
    const recordedOffset = f.u64Number(locatorAt + 8);
    const totalDisks = f.u32(locatorAt + 16);
    if (eocd64Disk !== 0 || totalDisks > 1) {
      reporter.fail('Multidisk', `the ZIP64 locator names disk ${eocd64Disk} of ${totalDisks}: multi-disk (split) archives are not supported`, {
        offset: locatorOffset,
      });
    }
    // The record is where the locator says, or (prepended data shifts every offset) right before the locator.
    const candidates = [recordedOffset, locatorOffset - EOCD64_BYTES];
    let found = -1;
    let record: Fields | undefined;
    for (const at of candidates) {
      if (at < 0 || at + EOCD64_BYTES > locatorOffset) continue;
      const bytes = at >= tailOffset ? tail.subarray(at - tailOffset, at - tailOffset + EOCD64_BYTES) : await source.read(at, EOCD64_BYTES);
      if (hasSignature(bytes, 0, SIG_EOCD64)) {
        found = at;
        record = new Fields(bytes);
        break;
      }
    }
    if (found < 0 || record === undefined) {
      reporter.fail('Zip64Invalid', `the ZIP64 locator at offset ${locatorOffset} points at offset ${recordedOffset}, where there is no ZIP64 end record`, {
        offset: locatorOffset,
      });
    }
    endStart = found;
    const recordSize = record.u64Number(4);
    const recordEnd = recordSize < 0 ? -1 : found + 12 + recordSize;
    if (recordSize < EOCD64_BYTES - 12 || recordEnd > locatorOffset || recordEnd < 0) {
      reporter.fail('Zip64Invalid', `the ZIP64 end record at offset ${found} declares ${recordSize} bytes, which does not fit before its locator at ${locatorOffset}`, {
        offset: found,
      });
    }
    if (recordEnd < locatorOffset) {
      reporter.report('UnreferencedData', `${locatorOffset - recordEnd} bytes between the ZIP64 end record and its locator belong to nothing`, { offset: recordEnd });
    }
    const disk64 = record.u32(16);
    const cdDisk64 = record.u32(20);
    if (disk64 !== 0 || cdDisk64 !== 0) {
      reporter.fail('Multidisk', `the ZIP64 end record names disk ${disk64} and central-directory disk ${cdDisk64}: multi-disk archives are not supported`, {
        offset: found,
      });
    }
    const entriesOnDisk64 = record.u64Number(24);
    const total64 = record.u64Number(32);
    const cdSize64 = record.u64Number(40);
    const cdOffset64 = record.u64Number(48);
    if (total64 < 0 || cdSize64 < 0 || cdOffset64 < 0) {
      reporter.fail('Zip64Invalid', `the ZIP64 end record at offset ${found} holds a count, size or offset beyond 2^53`, { offset: found });
    }
    if (entriesOnDisk64 !== total64) {
      reporter.report('CountMismatch', `the ZIP64 end record counts ${entriesOnDisk64} entries on this disk but ${total64} in total`, { offset: found });
    }
    const disagree: string[] = [];
    if (totalEntries !== U16_MAX && totalEntries !== total64) disagree.push(`${totalEntries} vs ${total64} entries`);
    if (cdSize !== U32_MAX && cdSize !== cdSize64) disagree.push(`directory size ${cdSize} vs ${cdSize64}`);
    if (cdOffset !== U32_MAX && cdOffset !== cdOffset64) disagree.push(`directory offset ${cdOffset} vs ${cdOffset64}`);
    if ((disk !== U16_MAX && disk !== 0) || (cdDisk !== U16_MAX && cdDisk !== 0)) disagree.push(`disk ${disk}/${cdDisk} vs 0/0`);
    if (disagree.length > 0) {
      reporter.report('Zip64Invalid', `the classic end record disagrees with the ZIP64 one (${disagree.join(', ')}); the ZIP64 values are used`, {
        offset: eocdOffset,
      });
    }
    if (found !== recordedOffset && found - recordedOffset !== found - cdSize64 - cdOffset64) {
      reporter.report('Zip64Invalid', `the ZIP64 locator points at offset ${recordedOffset} but the ZIP64 end record is at ${found}`, { offset: locatorOffset });
    }
    totalEntries = total64;
    cdSize = cdSize64;
    cdOffset = cdOffset64;
  }
  return { eocdOffset, comment, trailingBytes, zip64, endStart, totalEntries, cdSize, cdOffset, tail, tailOffset };
}
