/**
 * The messages between the page (web/app/) and its worker (web/worker/): every job runs in the
 * worker, so the page stays responsive while a model is parsed, scanned, converted or hashed. A job
 * is a request with an id; the worker answers with progress messages and one result or error.
 */
import type { ErrorCode } from '../errors.js';
import type { Finding, Verdict } from '../formats/findings.js';
import type { ConversionSummary } from '../convert/pipeline.js';
import type { DirectoryHandle, FileHandle } from './fsa.js';

/** A dropped or picked file, with its path inside what was dropped (`folder/model.safetensors`). */
export interface PickedFile {
  readonly file: File;
  readonly path: string;
}

/**
 * The tensors of a model as columns (100,000 rows cross to the page in one message, cheaply: the
 * numbers are typed arrays, moved to the page rather than copied; shapes are one flat array, not
 * 100,000 little ones).
 */
export interface TensorColumns {
  readonly names: string[];
  readonly dtypes: string[];
  /** Every tensor's dimensions, one tensor after another: tensor i's are `dims[dimStart[i]]` up to `dims[dimStart[i + 1]]` (shapeOf). */
  readonly dims: Float64Array;
  /** Where each tensor's dimensions start in `dims`; one more entry than there are tensors. */
  readonly dimStart: Uint32Array;
  /** Elements per tensor (the product of its shape). */
  readonly params: Float64Array;
  readonly bytes: Float64Array;
  /** Which file of the model holds each tensor (an index into ModelSummary.files). */
  readonly fileOf: Uint32Array;
}

/** Tensor i's shape. */
export function shapeOf(columns: TensorColumns, i: number): number[] {
  return Array.from(columns.dims.subarray(columns.dimStart[i], columns.dimStart[i + 1]));
}

/** What a model is, as the page shows it: one card. */
export interface ModelSummary {
  /** The worker's handle for later jobs on this model (stats, convert, verify). */
  readonly id: string;
  /** What the user picked: the file's path, the index's, or the URL. */
  readonly name: string;
  readonly files: { readonly name: string; readonly size: number }[];
  readonly size: number;
  /** The registry id and name of its format ('' when not a model file). */
  readonly format: string;
  readonly formatName: string;
  /** Safe, suspicious or dangerous, from the scan of every file of the model; 'error' when a file could not be read. */
  readonly verdict: Verdict | 'error';
  readonly findings: (Finding & { file: string })[];
  readonly metadata: Record<string, string>;
  readonly tensors: TensorColumns;
  readonly notes: string[];
  readonly leftOut: { path: string; what: string }[];
  /** Why its tensors are not shown (a dangerous file is not read; an unreadable one says why). */
  readonly error?: { code: string; message: string };
  /** Whether a conversion of it can start (it has tensors and is not refused). */
  readonly convertible: boolean;
}

export type Request =
  | { readonly job: 'open-files'; readonly files: PickedFile[] }
  /**
   * `url`: an http(s) URL, or a Hugging Face Hub reference (`hf://owner/repo[@revision][/path]`,
   * `owner/repo`); for a reference, `token` (sent to the Hub only) and `endpoint` (the Hub's address).
   */
  | { readonly job: 'open-url'; readonly url: string; readonly token?: string; readonly endpoint?: string }
  | { readonly job: 'close'; readonly model: string }
  // Conversion (web/worker/convert.ts, web/app/convert-section.ts)
  | { readonly job: 'convert-plan'; readonly model: string; readonly options: ConvertChoicesWeb }
  | { readonly job: 'convert'; readonly model: string; readonly options: ConvertChoicesWeb; readonly deliver: Delivery }
  | { readonly job: 'convert-discard'; readonly folder: string }

  // The page's tools and a tensor's values (web-tools: worker/tool-jobs.ts).
  | ToolRequest;

/** A tensor's values, and the page's tools: compare two models, hash, sign, verify a signature, make a key pair. */
export type ToolRequest =
  /** Statistics and histogram of one tensor of an open model (its index in the model's TensorColumns). */
  | { readonly job: 'tensor-stats'; readonly model: string; readonly tensor: number; readonly bins?: number }
  /** `tensorsafe verify A B` over two open models, with its rule's options. */
  | { readonly job: 'verify-models'; readonly a: string; readonly b: string; readonly atol: number; readonly rtol: number; readonly allowDtypeChange: boolean }
  /** `tensorsafe hash --json` of a picked file or of an open model's (one safetensors file). */
  | { readonly job: 'hash'; readonly file: File }
  | { readonly job: 'hash'; readonly model: string }
  /** `tensorsafe sign FILE --key KEY`: the .sig file's text. */
  | { readonly job: 'sign'; readonly file: File; readonly key: File }
  /** `tensorsafe verify-signature FILE --key KEY --sig SIG`. */
  | { readonly job: 'verify-signature'; readonly file: File; readonly sig: File; readonly key: File }
  /** A new Ed25519 key pair, as PEM. */
  | { readonly job: 'generate-keys' };

export type JobName = Request['job'];

export interface ProgressInfo {
  readonly phase: string;
  readonly done: number;
  readonly total: number;
  readonly detail?: string;
}

/** Page → worker. */
export type ToWorker = { readonly id: number; readonly request: Request } | { readonly id: number; readonly cancel: true };

/** Worker → page. */
export type FromWorker =
  | { readonly id: number; readonly progress: ProgressInfo }
  | { readonly id: number; readonly result: unknown }
  | { readonly id: number; readonly error: { readonly code: ErrorCode; readonly message: string } };

// Conversion in the page.

/** The CLI's `tensorsafe convert` options, as the page offers them (model/convert-setup.ts checks them). */
export interface ConvertChoicesWeb {
  readonly to: string;
  /** A size like "5GB" (--max-shard-size). */
  readonly maxShardSize?: string;
  readonly dtype?: string;
  readonly quantize?: string;
  readonly arch?: string;
  readonly dequantize?: boolean;
  readonly allowRaw?: boolean;
}

/** Where a checked conversion goes: downloads (the page takes the files), or into what the user picked (File System Access). */
export type Delivery = { readonly kind: 'download' } | { readonly kind: 'file'; readonly handle: FileHandle } | { readonly kind: 'folder'; readonly handle: DirectoryHandle };

/** The files a conversion will write, in delivery order (outputs, index, companions). */
export interface ConvertPlanInfo {
  readonly files: string[];
}

/** What a conversion did, as `tensorsafe convert --json` says it, with the names of the files written. */
export interface WebConvertSummary extends ConversionSummary {
  readonly inputs: string[];
  readonly outputs: string[];
  readonly index: string | undefined;
  readonly verified: boolean;
  readonly sources: { file: string; size: number; mtime: string }[];
  readonly seconds: number;
}

export interface ConvertResult {
  readonly summary: WebConvertSummary;
  /** The files, with the OPFS File of each for a download (absent once delivered into a picked file or folder). */
  readonly files: { readonly name: string; readonly size: number; readonly file?: File }[];
  /** The job's folder in the page's private storage while its files wait to be downloaded ('' when already removed). */
  readonly folder: string;
}
