import type { ByteSource } from '../io/byte-source.js';
import { DETECT_HEAD_BYTES, type DetectProbe, type FormatDescriptor } from './format.js';
import { detectFormat } from './detect.js';
import { safetensorsFormat } from './safetensors/format.js';
import { numpyFormat } from './numpy/format.js';
import { pytorchFormat } from './torch/format.js';

/**
 * Every format tensorsafe reads, in the order their detectors are asked (the first that claims the
 * bytes wins). Adding a format is one folder under `src/formats/` and one line here.
 */
export const FORMATS: readonly FormatDescriptor[] = [
  safetensorsFormat,
  pytorchFormat,
  numpyFormat,
];

/** The format with this id, or undefined. */
export function formatById(id: string): FormatDescriptor | undefined {
  return FORMATS.find((f) => f.id === id);
}

/** The formats whose usual extensions include the file name's (lower case), for discovery in folders. */
export function formatsByExtension(fileName: string): FormatDescriptor[] {
  const lower = fileName.toLowerCase();
  return FORMATS.filter((f) => f.extensions.some((x) => lower.endsWith(x)));
}

/** Zip entry names read for detection: enough for any model archive's telling entries. */
export const MAX_DETECT_ENTRIES = 4096;

/**
 * What a detector is shown for a source: its first bytes, its size, the container they are, and for a
 * zip archive the names of its entries (read from the central directory only).
 */
export async function probeSource(source: ByteSource): Promise<DetectProbe> {
  const head = await source.read(0, Math.min(source.size, DETECT_HEAD_BYTES));
  const container = detectFormat(head, source.size);
  if (container !== 'zip') return { head, size: source.size, container };
  const { openZip } = await import('./zip/index.js');
  try {
    const zip = await openZip(source, { strict: false });
    return { head, size: source.size, container, entries: zip.entries.slice(0, MAX_DETECT_ENTRIES).map((e) => e.name) };
  } catch {
    // A damaged directory: the formats decide from the head alone, and their readers report the damage.
    return { head, size: source.size, container };
  }
}

/** The format of a source, from its bytes: the first registered format that claims them. */
export async function detectSourceFormat(source: ByteSource): Promise<FormatDescriptor | undefined> {
  const probe = await probeSource(source);
  return FORMATS.find((f) => f.detect(probe));
}
