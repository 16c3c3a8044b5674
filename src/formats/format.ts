import type { ByteSource } from '../io/byte-source.js';
import type { BlockDecoder } from '../tensor/block-decoder.js';
import type { RunnableModel, RuntimeId } from '../tensor/runnable-model.js';
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
   * The framework whose conventions its tensors follow, as safetensors metadata names it for loaders
   * (`pt`, `tf`, `flax`, `mlx`): recorded as `format` in what it converts to. Undefined when there is
   * none a loader knows (NumPy): no `format` key is written.
   */
  readonly framework?: string;
  /**
   * Its files carry nothing their own loaders run (safetensors: a JSON header and raw bytes), so
   * reading one for its tensors (inspect, verify) needs no scan first. The scanner still checks such
   * files when asked, and convert scans whatever it converts (a file can be two formats at once).
   */
  readonly inert?: boolean;
  /** Its reader takes the open option `dequantize` (convert --dequantize); other formats refuse it. */
  readonly dequantizes?: boolean;
  /** Ends of file names of this format, lower case (`.gguf`; TF.js's `model.json`), most usual first (model discovery in folders). */
  readonly extensions: readonly string[];
  /**
   * One line for people on each scan rule this format's readers report (`keras/lambda-layer`: what it
   * means): the rule's description in SARIF output. A rule not listed is described there by the message
   * of its first finding.
   */
  readonly ruleDescriptions?: Readonly<Record<string, string>>;
  /**
   * Files a model file of this format names as parts of itself (TF.js's weight shards), paths relative to
   * its folder, from its bytes (at most MAX_DETECT_JSON_BYTES): a folder's batch conversion does not take
   * them for models of their own. Undefined: the format's files name none.
   */
  referencedFiles?(bytes: Uint8Array): readonly string[];
  /**
   * Whether the bytes are this format: from the first DETECT_HEAD_BYTES, the size, the container they
   * are and its entries, never the name.
   */
  detect(probe: DetectProbe): boolean;
  /** The parser, scan rules and limits: loaded on first use. */
  load(): Promise<FormatReader>;
}

/** Bytes read for detection. */
export const DETECT_HEAD_BYTES = 512;
/**
 * Bytes an HDF5 file shows its detectors: the root group's attributes (Keras's `model_config`) follow the
 * superblock, past the first 512 bytes (byte 992 in h5py's files); bounds the read.
 */
export const DETECT_HDF5_HEAD_BYTES = 64 * 1024;

/** What a detector sees. For an archive, the names of its entries too (an npz is a zip of .npy files). */
export interface DetectProbe {
  /** The first DETECT_HEAD_BYTES (DETECT_HDF5_HEAD_BYTES of an HDF5 file). */
  readonly head: Uint8Array;
  readonly size: number;
  /** The container the bytes are, from the head (detect.ts `detectContainer`: `zip`, `tar`, `hdf5`, `json`, …). */
  readonly container?: string;
  /** Entry names, when the file is an archive whose directory was read (a tar archive's member names too). */
  readonly entries?: readonly string[];
  /**
   * For a document that starts like a JSON object (container `json`): its text, up to
   * MAX_DETECT_JSON_BYTES (a model.json's telling keys may follow megabytes of topology). For other
   * text (containers `text`, `html`) longer than its head: up to MAX_DETECT_TEXT_BYTES of it.
   */
  readonly text?: string;
  /**
   * The last DETECT_TAIL_BYTES of a file that is no archive and is longer than its head (a LevelDB
   * table, a TensorFlow checkpoint's .index, has its magic in its footer); undefined otherwise.
   */
  readonly tail?: Uint8Array;
}

/** Bytes read from a file's end for detection: a LevelDB table's magic (TensorFlow checkpoint indexes). */
export const DETECT_TAIL_BYTES = 8;

/** JSON text shown to detectors: a format's keys may come after a long value; bounds the memory of a probe. */
export const MAX_DETECT_JSON_BYTES = 64 << 20;
/** Other text shown to detectors (YAML PFA's keys after a long input schema, PMML's root after a licence comment); bounds a probe's read. */
export const MAX_DETECT_TEXT_BYTES = 64 << 10;

export interface OpenOptions {
  /** Path of the weights inside a training checkpoint (`state_dict`, `model.ema`). */
  readonly key?: string;
  /** Keep unknown (not dangerous) objects as inert placeholders instead of refusing the file. */
  readonly skipUnknown?: boolean;
  /**
   * Opens a file the model references (ONNX external data) by its path relative to the model's folder
   * (a local file's); refuses one that resolves outside it (a symbolic link that leaves the folder)
   * with `ExternalDataRefused`. Absent: the model has no folder, and such files are refused.
   */
  readonly openSibling?: (relativePath: string) => Promise<ByteSource>;
  /** Decodes quantized blocks off this thread (node/decode-workers.ts); absent: decoded in place. */
  readonly blockDecoder?: BlockDecoder;
  /** Quantized tensors as their float values (a format whose descriptor has `dequantizes`: TFLite). */
  readonly dequantize?: boolean;
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
   * The format's scan rules, for a file of this format that is not a container the scanner walks. Given
   * the structure of an earlier `open` of the same source, it checks that structure instead of parsing
   * again; without it, it parses what it needs itself. Returns the name the report gives the file when
   * it is not the format's id (`npy` for NumPy, `hdf5` for a legacy Keras file).
   */
  scan?(source: ByteSource, ctx: ScanContext, parsed?: ParsedModel<Structure>): Promise<string | void>;
  /**
   * For a file the scanner walks itself as a container (a zip or tar archive, a stream of pickles: what
   * any loader would unpickle in it is analysed whatever the format), what this format makes of it: its
   * name in the report and the rules the walk applies. Undefined: the format does not read it so.
   */
  containerRules?(container: ContainerView): ContainerRules<Structure> | undefined;
  /**
   * The format's own view of a parsed file for `inspect` (GGUF: version, metadata, tensor types; ONNX:
   * opsets, producer, graph counts; …), made from the structure `open` already parsed, never a second
   * parse. Undefined: inspect shows the tensors only.
   */
  describe?(parsed: ParsedModel<Structure>): FormatView;
  /**
   * Runs models of this format for the behaviour check (verify --run): the runtime they need, and a
   * model loaded in it, with its own weights or with `weights` put in their place. Undefined: the
   * format's models are not run.
   */
  runner?: ModelRunner<Structure>;
}

/** What a format's runner is given: the parse already made, the file, the runtime's module (loaded by the caller). */
export interface RunRequest<Structure = unknown> {
  readonly parsed: ParsedModel<Structure>;
  /** The model file, read again for the bytes the runtime takes. */
  readonly source: ByteSource;
  /** Its files (ONNX external data, TF.js shards), inside its folder only. */
  readonly openSibling?: (relativePath: string) => Promise<ByteSource>;
  /** The runtime's module (`onnxruntime-node`, `@tensorflow/tfjs`), as imported by the caller. */
  readonly runtime: unknown;
  /** Weights to run the graph with instead of its own, matched by the names this format's reader gives them. */
  readonly weights?: TensorSet;
  /** What the model is, for messages: `the original (model.onnx)`. */
  readonly label: string;
}

export interface ModelRunner<Structure = unknown> {
  readonly runtime: RuntimeId;
  load(request: RunRequest<Structure>): Promise<RunnableModel>;
}

/** A format's own view of a file (inspect): titled sections of key-value rows, plain text, JSON-able. */
export type FormatView = readonly ViewSection[];

export interface ViewSection {
  /** `GGUF`, `metadata`, `tensor types`. */
  readonly title: string;
  readonly rows: readonly ViewRow[];
}

export interface ViewRow {
  readonly key: string;
  /** For people: a value, or a summary (`ARRAY<STRING>[32000]: "<unk>", "<s>", …`). */
  readonly value: string;
}

/** Values shown of a long array in a view (the rest counted): a vocabulary has 100k entries. */
export const VIEW_ARRAY_ITEMS = 8;
/** Characters of one value shown in a view: a chat template is kilobytes. */
export const VIEW_VALUE_CHARS = 200;

/** A row's value cut at VIEW_VALUE_CHARS, saying how long it was. */
export function viewValue(text: string): string {
  return text.length > VIEW_VALUE_CHARS ? `${text.slice(0, VIEW_VALUE_CHARS)}… (${text.length} characters)` : text;
}

/** A container as the scanner's walk sees it, for `containerRules`. */
export type ContainerView =
  | { readonly kind: 'zip'; readonly entries: readonly string[] }
  | { readonly kind: 'tar'; readonly entries: readonly string[] }
  /** A stream of pickles, and the value its first pickle makes (as far as the analysis decoded it). */
  | { readonly kind: 'pickle'; readonly firstValue: unknown };

/** What a format tells the scanner's walk of a container it claims. */
export interface ContainerRules<Structure = unknown> {
  /** The format's name in the report: `pytorch-zip`, `torchscript`, `keras`. */
  readonly label: string;
  /** Findings about the container as a whole, before its entries are walked; `location` is the container's. */
  before?(ctx: ScanContext, location: string): void;
  /** Globals the format's loader imports by design (TorchScript's `__torch__.*`): not reported as unknown. */
  expected?(qualifiedName: string): boolean;
  /** Entries the format's loader reads as raw bytes, never unpickles (torch storage records). */
  rawRecord?(entry: string): boolean;
  /** Entries the format's own rules read (Keras config.json), instead of the walk's reading by content. */
  readonly entries?: {
    matches(entry: string): boolean;
    scan(bytes: Uint8Array, ctx: ScanContext, location: string): void | Promise<void>;
  };
  /** Pickles the format's loader reads after the first in a stream of pickles (the legacy torch format: 4). */
  readonly followingPickles?: number;
  /**
   * After the walk: checks of the container as a whole (torch's own reader as a second opinion on its
   * structure). `parsed`: an open() of this same source already made, checked instead of parsing again.
   */
  after?(source: ByteSource, ctx: ScanContext, parsed?: ParsedModel<Structure>): Promise<void>;
}
