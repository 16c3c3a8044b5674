/**
 * What a file is, from its first bytes (never its name): the formats tensorsafe reads, and common
 * files that are mistaken for models, so that a refusal can say what the file actually is.
 */
export type DetectedFormat =
  | 'zip'
  | 'tar'
  | 'pickle'
  | 'safetensors'
  | 'npy'
  | 'gguf'
  | 'ggml'
  | 'hdf5'
  | 'onnx-or-protobuf'
  | 'tflite'
  | 'png'
  | 'jpeg'
  | '7z'
  | 'gzip'
  | 'git-lfs-pointer'
  | 'html'
  | 'text'
  | 'empty'
  | 'unknown';

const ascii = (b: Uint8Array, at: number, n: number): string => String.fromCharCode(...b.subarray(at, at + n));

/** A zip local file header's signature, `PK\x03\x04`: an archive with entries starts with one. */
export function isZipLocalHeader(head: Uint8Array): boolean {
  return head[0] === 0x50 && head[1] === 0x4b && head[2] === 3 && head[3] === 4;
}

/** Whether the bytes start with NumPy's magic, `\x93NUMPY` (the one test of it: detection, the scanner and the NumPy reader). */
export function isNpyMagic(head: Uint8Array): boolean {
  return head[0] === 0x93 && head[1] === 0x4e && head[2] === 0x55 && head[3] === 0x4d && head[4] === 0x50 && head[5] === 0x59;
}

/**
 * Whether the bytes start with one of the magics llama.cpp wrote before GGUF: the u32 'ggml', 'ggmf' or
 * 'ggjt' little-endian (the bytes `lmgg`, `fmgg`, `tjgg`), followed by at least a version's 4 bytes.
 */
export function isLegacyGgmlMagic(head: Uint8Array): boolean {
  if (head.length < 8) return false;
  const magic = ascii(head, 0, 4);
  return magic === 'lmgg' || magic === 'fmgg' || magic === 'tjgg';
}

/** The protocol a PROTO opcode at byte 0 declares (`\x80` and a byte), or undefined. */
export function pickleProtocol(head: Uint8Array): number | undefined {
  return head[0] === 0x80 ? head[1] : undefined;
}

/** Detects from up to the first 512 bytes and the file size. */
export function detectFormat(head: Uint8Array, size: number): DetectedFormat {
  if (size === 0) return 'empty';
  const b0 = head[0];
  if (isZipLocalHeader(head) || ascii(head, 0, 4) === 'PK\x05\x06') return 'zip';
  if (head.length >= 262 && ascii(head, 257, 5) === 'ustar') return 'tar';
  if (isNpyMagic(head)) return 'npy';
  if (ascii(head, 0, 4) === 'GGUF') return 'gguf';
  if (isLegacyGgmlMagic(head)) return 'ggml';
  if (ascii(head, 0, 8) === '\x89HDF\r\n\x1a\n') return 'hdf5';
  if (ascii(head, 0, 8) === '\x89PNG\r\n\x1a\n') return 'png';
  if (b0 === 0xff && head[1] === 0xd8) return 'jpeg';
  if (ascii(head, 0, 6) === '7z\xbc\xaf\x27\x1c') return '7z';
  if (b0 === 0x1f && head[1] === 0x8b) return 'gzip';
  if (ascii(head, 4, 4) === 'TFL3') return 'tflite';
  if (ascii(head, 0, 23) === 'version https://git-lfs') return 'git-lfs-pointer';
  if (/^\s*<(!doctype|html)/i.test(ascii(head, 0, 32))) return 'html';
  if (head.length >= 9 && size >= 9) {
    const n = new DataView(head.buffer, head.byteOffset, 8).getBigUint64(0, true);
    const first = String.fromCharCode(...head.subarray(8, Math.min(head.length, 16))).trimStart();
    if (n > 0n && n <= BigInt(size - 8) && first.startsWith('{')) return 'safetensors';
  }
  // PROTO (protocols 2–5). Protocol 0 and 1 pickles have no signature: their first byte is an opcode
  // like any other (`import os` starts with INST), so whether bytes are a pickle is decided by reading
  // them as CPython's unpickler does (src/scan), never here.
  const protocol = pickleProtocol(head);
  if (protocol !== undefined && protocol <= 5) return 'pickle';
  if (b0 === 0x08 || b0 === 0x12 || (b0 === 0x0a && !isText(head))) return 'onnx-or-protobuf';
  if (isText(head)) return 'text';
  return 'unknown';
}

/** What a file is to the readers that open it as a container: `detectFormat`'s answer, and `json` for a document that starts like a JSON object. */
export type ContainerKind = DetectedFormat | 'json';

/**
 * The container the bytes are, as the format registry and the scanner read them (from up to the first
 * 512 bytes): a tar archive by its header checksum too (tarfile.open, which torch.load tries first,
 * reads any tar whose first header's checksum is right, ustar or not), and a JSON document by its `{`.
 */
export function detectContainer(head: Uint8Array, size: number): ContainerKind {
  const format = detectFormat(head, size);
  if (format !== 'zip' && format !== 'tar' && tarChecksumValid(head)) return 'tar';
  if ((format === 'text' || format === 'unknown') && head[0] === 0x7b /* { */) return 'json';
  return format;
}

/**
 * What else a loader may read the bytes as, when they look like something more common: text whose first
 * byte is a protobuf tag (field 1, length-delimited: a line feed) is a protobuf to ONNX.
 */
export function alternativeContainer(head: Uint8Array, container: ContainerKind): ContainerKind | undefined {
  return container === 'text' && head[0] === 0x0a ? 'onnx-or-protobuf' : undefined;
}


/**
 * A tar header as Python's tarfile checks it (TarInfo.frombuf): the checksum field read by `nti` (base-256
 * when its first byte is 0x80 or 0xff, otherwise ASCII up to a NUL read by `int(text.strip() or "0", 8)`,
 * which takes a sign, a `0o` prefix and underscores) equals the unsigned or the signed sum of the header's
 * bytes with the field read as spaces. Any of them makes `tarfile.open`, so torch.load, read the file as a tar.
 */
export function tarChecksumValid(head: Uint8Array): boolean {
  if (head.length < 512 || head.every((b) => b === 0)) return false;
  const field = head.subarray(148, 156);
  let value: number;
  if (field[0] === 0x80 || field[0] === 0xff) {
    value = 0;
    for (let i = 1; i < 8; i++) value = value * 256 + field[i]!;
    if (field[0] === 0xff) value -= 256 ** 7;
  } else {
    const end = field.indexOf(0);
    const bytes = end < 0 ? field : field.subarray(0, end);
    if (bytes.some((b) => b > 0x7f)) return false;
    const text = new TextDecoder('latin1').decode(bytes).replace(/^[\s\x1c-\x1f]+|[\s\x1c-\x1f]+$/g, '');
    if (text !== '' && !/^[+-]?(?:0[oO]_?)?[0-7](?:_?[0-7])*$/.test(text)) return false;
    const sign = text.startsWith('-') ? -1 : 1;
    const digits = text.replace(/^[+-]/, '').replace(/^0[oO]/, '').replace(/_/g, '');
    value = digits === '' ? 0 : sign * parseInt(digits, 8);
  }
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < 512; i++) {
    const b = i >= 148 && i < 156 ? 0x20 : head[i]!;
    unsigned += b;
    signed += b > 127 ? b - 256 : b;
  }
  return value === unsigned || value === signed;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Text: UTF-8 (a character cut at the end of the head is allowed) with no control characters but
 * tab, line feed, vertical tab, form feed, carriage return and escape. Protocol 0 pickles are text too.
 */
export function isText(head: Uint8Array): boolean {
  try {
    const text = utf8.decode(head, { stream: true });
    return !/[\x00-\x08\x0e-\x1a\x1c-\x1f\x7f]/.test(text);
  } catch {
    return false;
  }
}

/** What each container is called in messages ("a zip archive that is also a pickle"). */
const CONTAINER_NAMES: Record<ContainerKind, string> = {
  zip: 'a zip archive',
  tar: 'a tar archive',
  pickle: 'a Python pickle',
  safetensors: 'a safetensors file',
  npy: 'a NumPy .npy file',
  gguf: 'a GGUF file',
  ggml: 'a legacy GGML file (ggml, ggmf or ggjt, before GGUF)',
  hdf5: 'an HDF5 file',
  'onnx-or-protobuf': 'a protobuf file',
  tflite: 'a TFLite model',
  png: 'a PNG image',
  jpeg: 'a JPEG image',
  '7z': 'a 7z archive',
  gzip: 'a gzip file',
  'git-lfs-pointer': 'a Git LFS pointer',
  html: 'an HTML page',
  text: 'a text file',
  json: 'a JSON document',
  empty: 'an empty file',
  unknown: 'not a format tensorsafe recognises',
};

/** What a refusal adds to a container's name: the likely reason the file is not what was expected. */
const REFUSAL_HINTS: Partial<Record<DetectedFormat, string>> = {
  safetensors: 'already safe: nothing to convert',
  hdf5: 'Keras .h5?',
  'onnx-or-protobuf': 'ONNX?',
  'git-lfs-pointer': 'the model itself was not downloaded: run git lfs pull',
  html: 'a download that returned an error page?',
};

/** "a zip archive": the container's name, for messages. */
export function containerName(kind: ContainerKind): string {
  return CONTAINER_NAMES[kind];
}

/** "a Git LFS pointer (the model itself was not downloaded: run git lfs pull)": the name and a hint, for refusals. */
export function describeFormat(format: DetectedFormat): string {
  const hint = REFUSAL_HINTS[format];
  return hint === undefined ? CONTAINER_NAMES[format] : `${CONTAINER_NAMES[format]} (${hint})`;
}
