/**
 * The messages between the page (web/app/) and its worker (web/worker/): every job runs in the
 * worker, so the page stays responsive while a model is parsed, scanned, converted or hashed. A job
 * is a request with an id; the worker answers with progress messages and one result or error.
 */
import type { ErrorCode } from '../errors.js';
import type { Finding, Verdict } from '../formats/findings.js';

/** A dropped or picked file, with its path inside what was dropped (`folder/model.safetensors`). */
export interface PickedFile {
  readonly file: File;
  readonly path: string;
}

/** The tensors of a model as columns (100,000 rows cross to the page in one message, cheaply). */
export interface TensorColumns {
  readonly names: string[];
  readonly dtypes: string[];
  readonly shapes: number[][];
  /** Elements per tensor (the product of its shape). */
  readonly params: Float64Array;
  readonly bytes: Float64Array;
  /** Which file of the model holds each tensor (an index into ModelSummary.files). */
  readonly fileOf: Uint32Array;
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
  | { readonly job: 'open-url'; readonly url: string }
  | { readonly job: 'close'; readonly model: string };

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
