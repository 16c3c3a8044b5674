import type { ByteSource } from '../io/byte-source.js';
import type { TensorSet } from '../tensor/tensor-set.js';
import type { ScanContext } from './findings.js';

/**
 * The face every format has (one folder under `src/formats/`, one line in `registry.ts`). Inspect,
 * scan, convert, verify and batch reach a format only through this face: they never name a format.
 *
 * A format is split in two so that nothing heavy loads before it is needed: the descriptor (`id`,
 * `name`, `extensions`, `detect`) is small and always loaded; the reader (`load()`) holds the parser,
 * the scan rules and the limits, and is imported when a file of that format is met.
 */
export interface FormatDescriptor {
  /** Stable id, used in `--to`, in reports and in fixtures' folders: `numpy`, `pytorch`, `gguf`. */
  readonly id: string;
  /** For people: `NumPy (.npy, .npz)`. */
  readonly name: string;
  /**
   * The framework whose conventions its tensors follow, as safetensors metadata names it (`pt`, `np`,
   * `tf`): recorded as `format` in what it converts to. Undefined when there is none to name.
   */
  readonly framework?: string;
  /**
   * Its files carry nothing their own loaders run (safetensors: a JSON header and raw bytes), so
   * reading one for its tensors (inspect, verify) needs no scan first. The scanner still checks such
   * files when asked, and convert scans whatever it converts (a file can be two formats at once).
   */
  readonly inert?: boolean;
  /** File extensions of this format, lower case with the dot, most usual first (model discovery in folders). */
  readonly extensions: readonly string[];
  /** Whether the bytes are this format: from the first DETECT_HEAD_BYTES and the size, never the name. */
  detect(probe: DetectProbe): boolean;
  /** The parser, scan rules and limits: loaded on first use. */
  load(): Promise<FormatReader>;
}

/** Bytes read for detection. */
export const DETECT_HEAD_BYTES = 512;

/** What a detector sees. For an archive, the names of its entries too (an npz is a zip of .npy files). */
export interface DetectProbe {
  readonly head: Uint8Array;
  readonly size: number;
  /** The container the bytes are, as found from the head (`zip`, `tar`, …), when they are one. */
  readonly container?: string;
  /** Entry names, when the file is an archive whose directory was read. */
  readonly entries?: readonly string[];
}

export interface OpenOptions {
  /** Path of the weights inside a training checkpoint (`state_dict`, `model.ema`). */
  readonly key?: string;
  /** Keep unknown (not dangerous) objects as inert placeholders instead of refusing the file. */
  readonly skipUnknown?: boolean;
  /** The folder of a local file, for files the format references (ONNX external data, TF.js shards). */
  readonly dir?: string;
}

/** One parse of a file: the tensors, and the structure the scanner checks, made by the same parse. */
export interface ParsedModel<Structure = unknown> {
  readonly tensors: TensorSet;
  /** The format's raw structure (a header, a pickle's value tree, an archive directory) for its scan rules. */
  readonly structure: Structure;
}

export interface FormatReader<Structure = unknown> {
  /** Parses the file once: a lazy TensorSet (no tensor byte read yet) and the structure behind it. */
  open?(source: ByteSource, options?: OpenOptions): Promise<ParsedModel<Structure>>;
  /**
   * The format's scan rules. Given the structure of an earlier `open` of the same source, it checks
   * that structure instead of parsing again; without it, it parses what it needs itself.
   */
  scan?(source: ByteSource, ctx: ScanContext, parsed?: ParsedModel<Structure>): Promise<void>;
}
