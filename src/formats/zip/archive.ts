import type { ByteSource } from '../../io/byte-source.js';
import { hasSignature, SIG_CENTRAL, SIG_EOCD, SIG_LOCAL } from './bytes.js';
import { parseCentralDirectory, type CentralRecord } from './central-directory.js';
import { readEndRecords, type EndRecords } from './end-records.js';
import { FLAG_DATA_DESCRIPTOR, FLAG_ENCRYPTED, FLAG_PATCHED, FLAG_STRONG_ENCRYPTION, METHOD_STORED, readableMethod, ZipEntry, type EntryContext } from './entry.js';
import type { ZipError, ZipFinding } from './errors.js';
import { LOCAL_HEADER_BATCH_BYTES, LOCAL_HEADER_READS_IN_FLIGHT, MAX_CENTRAL_DIRECTORY_BYTES, MAX_ENTRY_NAME_BYTES, MAX_INFLATED_ENTRY_BYTES, MAX_ZIP_ENTRIES } from './limits.js';
import { LOCAL_HEADER_BYTES, localHeaderLength, parseLocalHeader, type LocalHeader } from './local-header.js';
import { decodeName, decodeText, FLAG_UTF8, unsafeNameReason } from './names.js';
import { quoteName, Reporter } from './report.js';

export interface OpenZipOptions {
  /**
   * Strict (the default, for converters): the first anomaly throws a ZipError. Non-strict (for scanners):
   * anomalies become `findings` and the archive is read as far as it safely can be.
   */
  strict?: boolean;
  /** Largest entry read into memory (inflated, or read whole). Default MAX_INFLATED_ENTRY_BYTES. */
  maxInflatedEntryBytes?: number;
  /**
   * `recorded`: read the central directory and the entries at the offsets the end record gives, as
   * miniz (torch.load) does, even when data was prepended (Python's zipfile, the default here, shifts
   * them by what was prepended: the two can read two different archives from one file).
   */
  offsets?: 'shifted' | 'recorded';
}

/** A zip archive's directory, checked. Entry data is read on demand. */
export class ZipArchive {
  /** Every entry, in central-directory order (duplicates included). */
  readonly entries: ZipEntry[];
  /** Anomalies noticed (always empty in strict mode, which throws instead). */
  readonly findings: ZipFinding[];
  /** Bytes before the archive's first structure (a prepended file: polyglot or self-extractor). */
  readonly leadingBytes: number;
  /** Bytes after the end record and its comment (an appended file). */
  readonly trailingBytes: number;
  /** The archive comment as bytes, and as text (UTF-8 if it is valid UTF-8, CP437 otherwise). */
  readonly commentBytes: Uint8Array;
  readonly comment: string;
  /** ZIP64 end records were present. */
  readonly zip64: boolean;
  /** Absolute offset and size of the central directory. */
  readonly centralDirectoryOffset: number;
  readonly centralDirectorySize: number;
  /** What was added to the recorded offsets (bytes prepended to the archive, Python zipfile's "concat"); 0 when read as recorded. */
  readonly offsetBase: number;
  private byName: Map<string, ZipEntry> | undefined;

  constructor(
    readonly source: ByteSource,
    readonly strict: boolean,
    fields: {
      entries: ZipEntry[];
      findings: ZipFinding[];
      leadingBytes: number;
      trailingBytes: number;
      commentBytes: Uint8Array;
      zip64: boolean;
      centralDirectoryOffset: number;
      centralDirectorySize: number;
      offsetBase?: number;
    },
  ) {
    this.offsetBase = fields.offsetBase ?? 0;
    this.entries = fields.entries;
    this.findings = fields.findings;
    this.leadingBytes = fields.leadingBytes;
    this.trailingBytes = fields.trailingBytes;
    this.commentBytes = fields.commentBytes;
    this.comment = decodeText(fields.commentBytes);
    this.zip64 = fields.zip64;
    this.centralDirectoryOffset = fields.centralDirectoryOffset;
    this.centralDirectorySize = fields.centralDirectorySize;
  }

  /**
   * The entry with this name. With duplicate names (non-strict archives only, reported as DuplicateName)
   * this is the first in central-directory order; scanners should walk `entries` instead.
   */
  get(name: string): ZipEntry | undefined {
    if (!this.byName) {
      this.byName = new Map();
      for (const e of this.entries) if (!this.byName.has(e.name)) this.byName.set(e.name, e);
    }
    return this.byName.get(name);
  }
}

/** True when the bytes start like a zip archive: a local header (`PK\x03\x04`) or an empty archive's end record (`PK\x05\x06`). */
export function isZip(prefix: Uint8Array): boolean {
  return hasSignature(prefix, 0, SIG_LOCAL) || hasSignature(prefix, 0, SIG_EOCD);
}

/** Slack read past a local header's central name and extra length, for local extras that are longer (torch's alignment padding). */
const LOCAL_HEADER_SLACK = 128;
/** Flag bits whose local and central values must agree. */
const FLAGS_COMPARED = FLAG_ENCRYPTED | FLAG_DATA_DESCRIPTOR | FLAG_PATCHED | FLAG_STRONG_ENCRYPTION | FLAG_UTF8;
/** Data descriptor sizes: CRC and two sizes of 4 or 8 bytes, with or without the optional signature. */
const DESCRIPTOR_SIZES = new Set([12, 16, 20, 24]);

interface Draft {
  record: CentralRecord;
  index: number;
  /** Absolute local header offset. */
  offset: number;
  local?: LocalHeader;
  problem?: ZipError;
}

/**
 * Opens a zip archive: finds the end record (and ZIP64 records), reads the central directory and
 * every local header, and checks them against each other and against the source's size before
 * anything is allocated from them.
 */
export async function openZip(source: ByteSource, options: OpenZipOptions = {}): Promise<ZipArchive> {
  const strict = options.strict ?? true;
  const reporter = new Reporter(strict, source.name);
  const size = source.size;
  const end = await readEndRecordsOrTruncated(source, reporter);

  if (end.totalEntries > MAX_ZIP_ENTRIES) {
    reporter.fail('TooManyEntries', `the end record declares ${end.totalEntries} entries, more than MAX_ZIP_ENTRIES (${MAX_ZIP_ENTRIES})`, { offset: end.eocdOffset });
  }
  if (end.cdSize > MAX_CENTRAL_DIRECTORY_BYTES) {
    reporter.fail('CentralDirectoryTooLarge', `the central directory declares ${end.cdSize} bytes, more than MAX_CENTRAL_DIRECTORY_BYTES (${MAX_CENTRAL_DIRECTORY_BYTES})`, {
      offset: end.eocdOffset,
    });
  }

  // The directory ends where the end records start; any difference from its recorded offset is data
  // prepended to the archive (CPython's "concat"). If nothing is there, try the recorded offset as is.
  const concat = end.endStart - end.cdSize - end.cdOffset;
  if (concat < 0) {
    reporter.fail(
      'BadCentralDirectory',
      `the central directory (${end.cdSize} bytes at offset ${end.cdOffset}) would run past the end records at offset ${end.endStart}`,
      { offset: end.endStart },
    );
  }
  const recorded = options.offsets === 'recorded';
  let base = recorded ? 0 : concat;
  let cd = await readBytes(source, end, base + end.cdOffset, end.cdSize);
  if (!recorded && end.cdSize > 0 && concat > 0 && !hasSignature(cd, 0, SIG_CENTRAL)) {
    const unshifted = await readBytes(source, end, end.cdOffset, end.cdSize);
    if (hasSignature(unshifted, 0, SIG_CENTRAL)) {
      base = 0;
      cd = unshifted;
    }
  }
  const cdStart = base + end.cdOffset;
  const cdEnd = cdStart + end.cdSize;
  if (cdEnd < end.endStart) {
    reporter.report('UnreferencedData', `${end.endStart - cdEnd} bytes between the central directory and the end record belong to nothing`, { offset: cdEnd });
  }
  const records = parseCentralDirectory(cd, cdStart, end.totalEntries, reporter);

  // Central-directory checks.
  const drafts: Draft[] = [];
  const firstIndex = new Map<string, number>();
  for (let index = 0; index < records.length; index++) {
    const record = records[index]!;
    const where = { entry: record.name, offset: record.recordOffset };
    const label = `entry ${quoteName(record.name)}`;
    if (record.nameBytes.length > MAX_ENTRY_NAME_BYTES) {
      reporter.report('NameTooLong', `${label}: its name is ${record.nameBytes.length} bytes, more than MAX_ENTRY_NAME_BYTES (${MAX_ENTRY_NAME_BYTES})`, where);
    }
    const unsafe = record.nameValid ? unsafeNameReason(record.name) : 'the name is not valid UTF-8 although flag 0x800 says it is';
    if (unsafe) reporter.report('UnsafeName', `${label}: ${unsafe}`, where);
    const first = firstIndex.get(record.name);
    if (first === undefined) firstIndex.set(record.name, index);
    else reporter.report('DuplicateName', `${label} appears more than once (entries #${first} and #${index}): readers disagree on which one the name means`, where);
    if (record.diskStart !== 0) {
      reporter.report('Multidisk', `${label} starts on disk ${record.diskStart}: multi-disk archives are not supported (the disk number is ignored)`, where);
    }
    if (!readableMethod(record.method, strict)) {
      reporter.report('UnsupportedMethod', `${label}: compression method ${record.method} is not supported (only 0, stored, and 8, deflate${strict ? '' : '; 12, bzip2, and 14, LZMA'})`, where);
    }
    // An encrypted stored entry is 12 bytes (the encryption header) longer than its plain text.
    if (record.method === METHOD_STORED && record.compressedSize !== record.size && !(record.flags & FLAG_ENCRYPTED)) {
      reporter.report('SizeMismatch', `${label} is stored but its compressed size ${record.compressedSize} differs from its size ${record.size}`, where);
    }
    drafts.push({ record, index, offset: base + record.localHeaderOffset });
  }

  // Local headers, read in offset order, neighbours coalesced into one read.
  const order = [...drafts].sort((a, b) => a.offset - b.offset || a.index - b.index);
  await readLocalHeaders(source, order, reporter);

  // Local headers against the central directory.
  const localNames = new Map<Draft, string>();
  for (const d of drafts) {
    const { record, local } = d;
    const label = `entry ${quoteName(record.name)}`;
    const flags = record.flags | (local?.flags ?? 0);
    const where = { entry: record.name, offset: d.offset };
    if (local) {
      const localName = decodeName(local.nameBytes, local.flags).name;
      localNames.set(d, localName);
      if (!sameBytes(local.nameBytes, record.nameBytes) || localName !== record.name) {
        reporter.report('NameMismatch', `${label}: the local header at offset ${d.offset} names it ${quoteName(localName)}`, where);
      }
      const differences: string[] = [];
      if (local.method !== record.method) differences.push(`method ${local.method} vs ${record.method}`);
      if ((local.flags ^ record.flags) & FLAGS_COMPARED) differences.push(`flags 0x${hex(local.flags)} vs 0x${hex(record.flags)}`);
      if (!(flags & FLAG_DATA_DESCRIPTOR)) {
        if (local.crc32 !== record.crc32) differences.push(`CRC 0x${hex(local.crc32)} vs 0x${hex(record.crc32)}`);
        if (local.compressedSize !== record.compressedSize) differences.push(`compressed size ${local.compressedSize} vs ${record.compressedSize}`);
        if (local.size !== record.size) differences.push(`size ${local.size} vs ${record.size}`);
      }
      if (differences.length > 0) {
        reporter.report('HeaderMismatch', `${label}: the local header at offset ${d.offset} disagrees with the central directory (local vs central: ${differences.join(', ')})`, where);
      }
      if (local.zip64Problem) reporter.report('Zip64Invalid', `${label}: local header: ${local.zip64Problem}`, where);
    }
    if (flags & FLAG_ENCRYPTED) reporter.report('Encrypted', `${label} is marked encrypted (flag bit 0)`, where);
    if (flags & (FLAG_PATCHED | FLAG_STRONG_ENCRYPTION)) {
      reporter.report('OddFlags', `${label} has flag bit${flags & FLAG_PATCHED ? ' 0x20 (patched data)' : ''}${flags & FLAG_STRONG_ENCRYPTION ? ' 0x40 (strong encryption)' : ''} set`, where);
    }
  }

  // Layout: each entry's bytes inside the source, before the central directory, overlapping nothing.
  let previous: { end: number; name: string; descriptor: boolean } | undefined;
  let firstStructure = cdStart;
  for (const d of order) {
    if (!d.local) continue;
    const { record } = d;
    const label = `entry ${quoteName(record.name)}`;
    const where = { entry: record.name, offset: d.offset };
    const dataOffset = d.offset + d.local.length;
    const dataEnd = dataOffset + record.compressedSize;
    if (dataEnd > size) {
      d.problem = reporter.problem('Truncated', `${label}: its data (${record.compressedSize} bytes at offset ${dataOffset}) runs past the end of the source (${size} bytes)`, where);
      continue;
    }
    firstStructure = Math.min(firstStructure, d.offset);
    if (dataEnd > cdStart && d.offset < cdEnd) {
      reporter.report('OverlappingEntries', `${label}: its bytes [${d.offset}, ${dataEnd}) overlap the central directory [${cdStart}, ${cdEnd})`, where);
    } else if (d.offset >= cdEnd) {
      reporter.report('OverlappingEntries', `${label}: its local header at offset ${d.offset} lies after the central directory, among the end records`, where);
    }
    if (previous && d.offset < previous.end) {
      reporter.report('OverlappingEntries', `${label}: its bytes start at offset ${d.offset}, inside entry ${quoteName(previous.name)} (which ends at ${previous.end})`, where);
    } else if (previous) {
      checkGap(reporter, previous, d.offset, `before ${label}`);
    }
    const descriptor = ((record.flags | d.local.flags) & FLAG_DATA_DESCRIPTOR) !== 0;
    if (!previous || dataEnd >= previous.end) previous = { end: dataEnd, name: record.name, descriptor };
  }
  if (previous && previous.end <= cdStart) checkGap(reporter, previous, cdStart, 'before the central directory');
  if (firstStructure > 0) {
    const shifted = base > 0 ? `; the archive's offsets count from byte ${base}, so a file was prepended to it` : '';
    reporter.report('LeadingData', `${firstStructure} bytes precede the archive's first local header${shifted}: a polyglot or self-extractor?`, { offset: 0 });
  }

  const context: EntryContext = { source, maxInflatedBytes: options.maxInflatedEntryBytes ?? MAX_INFLATED_ENTRY_BYTES, strict };
  const entries = drafts.map(
    (d) =>
      new ZipEntry(context, {
        index: d.index,
        name: d.record.name,
        localName: localNames.get(d) ?? '',
        method: d.record.method,
        flags: d.record.flags,
        localFlags: d.local?.flags ?? d.record.flags,
        compressedSize: d.record.compressedSize,
        size: d.record.size,
        crc32: d.record.crc32,
        localHeaderOffset: d.offset,
        dataOffset: d.local ? d.offset + d.local.length : -1,
        zip64: d.record.zip64,
        externalAttributes: d.record.externalAttributes,
        versionMadeBy: d.record.versionMadeBy,
        problem: d.problem,
      }),
  );
  return new ZipArchive(source, strict, {
    entries,
    findings: reporter.findings,
    leadingBytes: firstStructure,
    trailingBytes: end.trailingBytes,
    commentBytes: end.comment,
    zip64: end.zip64,
    centralDirectoryOffset: cdStart,
    centralDirectorySize: end.cdSize,
    offsetBase: base,
  });
}

/** The end records; a file that starts like a zip but has none was cut short. */
async function readEndRecordsOrTruncated(source: ByteSource, reporter: Reporter): Promise<EndRecords> {
  try {
    return await readEndRecords(source, reporter);
  } catch (e) {
    if ((e as ZipError).code === 'NotZip' && source.size >= 4 && isZip(await source.read(0, 4))) {
      reporter.fail('Truncated', `the file starts like a zip archive but has no end-of-central-directory record: it was cut short`, {}, e);
    }
    throw e;
  }
}

/** Bytes [offset, offset+length) of the source, from the tail already read when they lie in it. Callers check the range. */
async function readBytes(source: ByteSource, end: EndRecords, offset: number, length: number): Promise<Uint8Array> {
  if (offset >= end.tailOffset) return end.tail.subarray(offset - end.tailOffset, offset - end.tailOffset + length);
  return source.read(offset, length);
}

/** Reads and parses every local header; entries whose header is missing or cut get a `problem`. */
async function readLocalHeaders(source: ByteSource, order: Draft[], reporter: Reporter): Promise<void> {
  const size = source.size;
  const gap = Math.max(0, source.coalesceGap ?? 0);
  const span = (d: Draft) => Math.min(size, d.offset + LOCAL_HEADER_BYTES + d.record.nameBytes.length + d.record.extra.length + LOCAL_HEADER_SLACK);
  const cut = (d: Draft, message: string) => {
    d.problem = reporter.problem('Truncated', `entry ${quoteName(d.record.name)}: ${message}`, { entry: d.record.name, offset: d.offset });
  };
  // The groups of nearby headers, each one read; the reads are made LOCAL_HEADER_READS_IN_FLIGHT at a
  // time (a Blob or an HTTP source answers each after a round trip; a local file does not mind).
  const groups: { k: number; j: number; start: number; end: number }[] = [];
  let k = 0;
  while (k < order.length) {
    const first = order[k]!;
    if (first.offset + LOCAL_HEADER_BYTES > size) {
      cut(first, `its local header offset ${first.offset} is past the end of the source (${size} bytes)`);
      k++;
      continue;
    }
    let groupEnd = span(first);
    let j = k + 1;
    while (j < order.length) {
      const d = order[j]!;
      const dEnd = span(d);
      if (d.offset + LOCAL_HEADER_BYTES > size || d.offset - groupEnd > gap || dEnd - first.offset > LOCAL_HEADER_BATCH_BYTES) break;
      groupEnd = Math.max(groupEnd, dEnd);
      j++;
    }
    groups.push({ k, j, start: first.offset, end: groupEnd });
    k = j;
  }
  for (let g = 0; g < groups.length; g += LOCAL_HEADER_READS_IN_FLIGHT) {
    const batch = groups.slice(g, g + LOCAL_HEADER_READS_IN_FLIGHT);
    const read = await Promise.all(batch.map((group) => source.read(group.start, group.end - group.start)));
    for (const [b, group] of batch.entries()) {
      const bytes = read[b]!;
      for (let t = group.k; t < group.j; t++) {
        const d = order[t]!;
        const at = d.offset - group.start;
        const length = localHeaderLength(bytes, at);
        if (length < 0) {
          const message = `entry ${quoteName(d.record.name)}: no local header signature (PK\\x03\\x04) at offset ${d.offset}, where the central directory points`;
          d.problem = reporter.problem('BadLocalHeader', message, { entry: d.record.name, offset: d.offset });
        } else if (at + length <= bytes.length) {
          d.local = parseLocalHeader(bytes, at);
        } else if (d.offset + length > size) {
          cut(d, `its local header (${length} bytes at offset ${d.offset}) runs past the end of the source (${size} bytes)`);
        } else {
          d.local = parseLocalHeader(await source.read(d.offset, length), 0);
        }
      }
    }
  }
}

/** Reports bytes between `previous` and `next` that no structure owns (a data descriptor's bytes excepted). */
function checkGap(reporter: Reporter, previous: { end: number; name: string; descriptor: boolean }, next: number, what: string): void {
  const gap = next - previous.end;
  if (gap <= 0 || (previous.descriptor && DESCRIPTOR_SIZES.has(gap))) return;
  reporter.report('UnreferencedData', `${gap} bytes after entry ${quoteName(previous.name)} (at offset ${previous.end}), ${what}, belong to no entry`, {
    entry: previous.name,
    offset: previous.end,
  });
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function hex(n: number): string {
  return n.toString(16);
}
