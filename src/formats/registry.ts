import type { ByteSource } from '../io/byte-source.js';
import { DETECT_HDF5_HEAD_BYTES, DETECT_HEAD_BYTES, DETECT_TAIL_BYTES, MAX_DETECT_JSON_BYTES, MAX_DETECT_TEXT_BYTES, type DetectProbe, type FormatDescriptor, type FormatReader } from './format.js';
import { detectContainer, type ContainerKind } from './detect.js';
import { safetensorsFormat } from './safetensors/format.js';
import { numpyFormat } from './numpy/format.js';
import { pytorchFormat } from './torch/format.js';
import { ggufFormat } from './gguf/format.js';
import { ggmlFormat } from './ggml/format.js';
import { onnxFormat } from './onnx/format.js';
import { coremlFormat } from './coreml/format.js';
import { tfliteFormat } from './tflite/format.js';
import { kerasFormat } from './keras/format.js';
import { hdf5Format } from './hdf5/format.js';
import { tfjsFormat } from './tfjs/format.js';
import { tfCheckpointFormat } from './tf-checkpoint/format.js';
import { pmmlFormat } from './pmml/format.js';
import { pfaFormat } from './pfa/format.js';
import { mxnetFormat } from './mxnet/format.js';
import { paddleFormat } from './paddle/format.js';
import { flaxFormat } from './flax/format.js';

/**
 * Every format tensorsafe reads, in the order their detectors are asked (the first that claims the
 * bytes wins; for an archive several may claim it, and the first names it: a torch zip that is also a
 * Keras archive is a torch zip). Adding a format is one folder under `src/formats/` and one line here
 * (docs/ARCHITECTURE.md lists what else it may touch). Frozen, the list and each descriptor (with its
 * extensions and rule descriptions): what is registered, and how it is detected, is decided here, never
 * by whoever imports the package at run time.
 */
export const FORMATS: readonly FormatDescriptor[] = Object.freeze(
  [
    safetensorsFormat,
    paddleFormat,
    pytorchFormat,
    ggufFormat,
    ggmlFormat,
    mxnetFormat,
    coremlFormat,
    tfCheckpointFormat,
    onnxFormat,
    tfliteFormat,
    kerasFormat,
    numpyFormat,
    hdf5Format,
    tfjsFormat,
    pmmlFormat,
    pfaFormat,
    flaxFormat,
  ].map(frozen),
);

function frozen(format: FormatDescriptor): FormatDescriptor {
  Object.freeze(format.extensions);
  if (format.ruleDescriptions !== undefined) Object.freeze(format.ruleDescriptions);
  return Object.freeze(format);
}

/** The format with this id, or undefined. */
export function formatById(id: string): FormatDescriptor | undefined {
  return FORMATS.find((f) => f.id === id);
}

/** The formats whose usual extensions include the file name's (lower case), for discovery in folders. */
export function formatsByExtension(fileName: string): FormatDescriptor[] {
  const lower = fileName.toLowerCase();
  return FORMATS.filter((f) => f.extensions.some((x) => lower.endsWith(x)));
}

/** The formats that claim a probe, in registry order. */
export function formatsClaiming(probe: DetectProbe): FormatDescriptor[] {
  return FORMATS.filter((f) => f.detect(probe));
}

const readers = new Map<FormatDescriptor, Promise<FormatReader>>();

/** A format's reader, loaded on first use and kept (a scan of a folder asks for it once per file). */
export function readerOf(format: FormatDescriptor): Promise<FormatReader> {
  let reader = readers.get(format);
  if (reader === undefined) {
    reader = format.load();
    readers.set(format, reader);
  }
  return reader;
}

/**
 * What a detector is shown for a source: its first bytes, its size, the container they are, for a zip
 * archive the names of all its entries (read from the central directory only, bounded by the zip
 * reader's MAX_ZIP_ENTRIES: a telling entry after the first thousands must not make the scanner and
 * the readers disagree on the format), for a JSON document its text.
 */
export async function probeSource(source: ByteSource): Promise<DetectProbe> {
  const head = await source.read(0, Math.min(source.size, DETECT_HEAD_BYTES));
  const container = detectContainer(head, source.size);
  if (container !== 'zip') return fileProbe(source, head, container);
  const { openZip } = await import('./zip/index.js');
  try {
    const zip = await openZip(source, { strict: false });
    return { head, size: source.size, container, entries: zip.entries.map((e) => e.name) };
  } catch {
    // A damaged directory: the formats decide from the head alone, and their readers report the damage.
    return { head, size: source.size, container };
  }
}

/**
 * The probe of a source that is not an archive, from its first DETECT_HEAD_BYTES and their container:
 * a JSON document's text, other text's first MAX_DETECT_TEXT_BYTES, an HDF5 file's longer head, as the
 * formats' detectors need them.
 */
export async function fileProbe(source: ByteSource, head: Uint8Array, container: ContainerKind): Promise<DetectProbe> {
  if (container === 'json') return { head, size: source.size, container, text: await readJsonText(source) };
  if (container === 'hdf5' && source.size > head.length) return { head: await source.read(0, Math.min(source.size, DETECT_HDF5_HEAD_BYTES)), size: source.size, container };
  if ((container === 'text' || container === 'html') && source.size > head.length) {
    const text = new TextDecoder().decode(await source.read(0, Math.min(source.size, MAX_DETECT_TEXT_BYTES)));
    return { head, size: source.size, container, text, tail: await source.read(source.size - DETECT_TAIL_BYTES, DETECT_TAIL_BYTES) };
  }
  if (source.size > head.length) return { head, size: source.size, container, tail: await source.read(source.size - DETECT_TAIL_BYTES, DETECT_TAIL_BYTES) };
  return { head, size: source.size, container };
}

/** A JSON document's text for detectors, up to MAX_DETECT_JSON_BYTES (invalid UTF-8 replaced). */
async function readJsonText(source: ByteSource): Promise<string> {
  return new TextDecoder().decode(await source.read(0, Math.min(source.size, MAX_DETECT_JSON_BYTES)));
}

/** The format of a source, from its bytes: the first registered format that claims them. */
export async function detectSourceFormat(source: ByteSource): Promise<FormatDescriptor | undefined> {
  return formatsClaiming(await probeSource(source))[0];
}
