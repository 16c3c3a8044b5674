import { isTensorsafeError, type ErrorCode } from '../errors.js';

/**
 * One exit-code table for every command (README "Exit status"; `tensorsafe --help`):
 * a script can tell "the answer is no" (1) from "I was called wrong" (2) from "I could not read or
 * write what I was given" (3) without parsing text.
 */
export const EXIT_OK = 0;
/** A finding or a failed check: scan found something, validate an invalid file, verify a difference, a refused conversion. */
export const EXIT_FINDING = 1;
/** The command line is wrong: unknown command or option, missing or extra arguments, an option value that is not valid. */
export const EXIT_USAGE = 2;
/** Bad input: a file that is missing, unreadable, malformed or not what the command takes; an output that cannot be written. */
export const EXIT_BAD_INPUT = 3;
/** A defect in tensorsafe itself (EX_SOFTWARE): never expected; the message asks for a report. */
export const EXIT_INTERNAL = 70;

/** What an error code means for a command's exit status. */
type ExitStatus = typeof EXIT_FINDING | typeof EXIT_USAGE | typeof EXIT_BAD_INPUT | typeof EXIT_INTERNAL;

const F = EXIT_FINDING;
const B = EXIT_BAD_INPUT;

/**
 * The exit status of every error code, total over the union: a code added to src/errors.ts does not
 * compile until it is placed here. 1 (finding): the file was read and judged, and the judgement is "no";
 * 3 (bad input): the file or output could not be read, written or understood.
 */
export const EXIT_STATUS_OF: Record<ErrorCode, ExitStatus> = {
  // safetensors format
  HeaderTooSmall: B, HeaderTooLarge: B, InvalidHeaderLength: B, InvalidHeader: B, InvalidHeaderDeserialization: B,
  InvalidOffset: B, TensorInvalidInfo: B, MisalignedSlice: B, ValidationOverflow: B, MetadataIncompleteBuffer: B,
  TensorNotFound: B, InvalidTensorView: B, TooManySlices: B, SliceOutOfRange: B, InvalidSlice: B,
  InvalidTensorName: B, InvalidMetadata: B, InvalidDtype: B, InvalidShape: B, DuplicateTensor: B,
  WriteOrder: B, WriteOverflow: B, IncompleteWrite: B, NotSynchronous: B, Closed: B,
  // sharded sets
  InvalidShardIndex: B, ShardMismatch: B,
  // transport and files
  IoError: B, OutOfRange: B, HttpError: B, RangeNotSatisfiable: B, SourceChanged: B, TruncatedResponse: B,
  InvalidResponse: B, CorsRefused: B, Timeout: B, Aborted: B, OutputExists: B, OutputConflict: B, AmbiguousModel: B, NotFound: B,
  PermissionDenied: B, NoSpace: B, ReadOnlyFileSystem: B, IsADirectory: B, NotADirectory: B, NotAFile: B, TooManyOpenFiles: B,
  // pickle: a global that would run code, or that strict mode does not know, is a judgement on the file
  UnsafeGlobal: F, UnsupportedGlobal: F,
  PickleTruncated: B, InvalidOpcode: B, InvalidPickle: B, UnsupportedProtocol: B, StackUnderflow: B,
  MarkMissing: B, MemoMissing: B, FrameMismatch: B, PickleLimit: B,
  // PyTorch checkpoints
  NotACheckpoint: B, InvalidCheckpoint: B, UnsupportedTensor: B, NoTensors: B, KeyNotFound: B, CheckpointLimit: B,
  // models of any format
  NotAModel: B, UnsupportedFormat: B,
  // NumPy; an object array: tensorsafe refuses to read a pickle, a judgement on the file (as UnsafeFile)
  NotNumpy: B, InvalidNumpy: B, NumpyLimit: B, ObjectArray: F,
  // GGUF, and the legacy GGML files before it
  InvalidGguf: B, GgufLimit: B, InvalidGgufMetadata: B, InvalidGgml: B, GgmlLimit: B,
  // ONNX
  InvalidOnnx: B, OnnxLimit: B, ExternalDataRefused: B, ExternalDataChecksum: B,
  // TFLite
  InvalidTflite: B, TfliteLimit: B,
  // HDF5
  InvalidHdf5: B, Hdf5Limit: B, Hdf5Unsupported: B,
  // TF.js
  InvalidTfjs: B, TfjsLimit: B, TfjsShardMismatch: B,
  // TensorFlow checkpoints
  InvalidTfCheckpoint: B, TfCheckpointLimit: B, TfCheckpointChecksum: B, TfCheckpointFileMissing: B,
  // Core ML
  InvalidCoreml: B, CoremlLimit: B, CoremlBlobInvalid: B, CoremlUnsupported: B,
  // Keras
  InvalidKeras: B, KerasLimit: B, KerasLayerMissing: B, KerasWeightMissing: B, KerasDuplicate: B,
  // XML (PMML's text): a DOCTYPE or an entity is an XXE attempt, a judgement on the file (as UnsafeFile)
  InvalidXml: B, XmlLimit: B, XmlDoctypeRefused: F, XmlEntityRefused: F, XmlEncodingRefused: B,
  // PMML and PFA
  InvalidPmml: B, PmmlLimit: B, InvalidPfa: B, PfaLimit: B, PfaRaggedArray: B,
  // MXNet, PaddlePaddle, Flax
  InvalidMxnet: B, MxnetLimit: B, InvalidPaddle: B, PaddleLimit: B, PaddleOptimizerState: B, InvalidFlax: B, FlaxLimit: B,
  // zip archives
  NotZip: B, Truncated: B, Zip64Invalid: B, Multidisk: B, CountMismatch: B, BadCentralDirectory: B,
  BadLocalHeader: B, NameMismatch: B, HeaderMismatch: B, DuplicateName: B, UnsafeName: B, NameTooLong: B,
  Encrypted: B, OddFlags: B, UnsupportedMethod: B, OverlappingEntries: B, LeadingData: B, TrailingData: B,
  UnreferencedData: B, SizeMismatch: B, BadDeflate: B, BadCrc: B, TooManyEntries: B, CentralDirectoryTooLarge: B,
  EntryTooLarge: B, TooManyFindings: B,
  // integrity
  InvalidPem: B, InvalidKey: B, InvalidSignatureFile: B, InvalidManifest: B, NotCanonical: B, Ed25519Unavailable: B,
  // runtime adapters
  RuntimeDtype: B, LossyConversion: B, WeightsMismatch: B,
  // the Hugging Face Hub
  HubRepoNotFound: B, HubGatedRepo: B, HubRevisionNotFound: B, HubEntryNotFound: B, HubAccessDenied: B,
  // verdicts
  UnsafeFile: F, VerificationFailed: F,
  // the behaviour check: a changed output or weights that do not fit the graph are judgements on the conversion
  RuntimeMissing: B, RuntimeFailed: B, RunUnsupported: B, RunWeightMismatch: F, InputMismatch: B, RunLimit: B, BehaviourChanged: F,
  // arguments and tensorsafe itself
  InvalidArgument: B, InvalidSize: B, InvalidTensor: B, GatherLimit: B, UsageError: EXIT_USAGE, InternalError: EXIT_INTERNAL,
};

/** The exit code for an error a command could not get past. */
export function exitCodeOf(e: unknown): number {
  return isTensorsafeError(e) ? exitCodeForCode(e.code) : EXIT_INTERNAL;
}

/** The same, from an error's code alone (batch results carry codes, not errors); a code from outside the union is a bug. */
export function exitCodeForCode(code: ErrorCode): number {
  return Object.hasOwn(EXIT_STATUS_OF, code) ? EXIT_STATUS_OF[code] : EXIT_INTERNAL;
}

/** The worst of several results: internal error over bad input over findings over success. */
export function worstExit(codes: Iterable<number>): number {
  const rank = (c: number): number => [EXIT_OK, EXIT_FINDING, EXIT_USAGE, EXIT_BAD_INPUT, EXIT_INTERNAL].indexOf(c);
  let worst = EXIT_OK;
  for (const c of codes) if (rank(c) > rank(worst)) worst = c;
  return worst;
}

/** The table, as printed by `tensorsafe --help`. */
export const EXIT_TABLE = `Exit status (the same for every command):
  0    success
  1    a finding or a failed check (scan found something, validate found an
       invalid file, verify found a difference, verify-signature a changed
       file or a bad signature, convert refused a dangerous file or a NumPy
       object array, or its output did not verify)
  2    usage error (unknown command or option, wrong arguments, bad value)
  3    bad input (a file missing, unreadable, malformed or not what the
       command takes; an output that exists or cannot be written)
  70   internal error (a bug in tensorsafe: please report it)
  129, 130, 143  interrupted by SIGHUP, SIGINT (Ctrl-C), SIGTERM
  141  stdout or stderr closed early (a pipe into head), as SIGPIPE`;

/** A command's "Exit status" paragraph: the shared numbers, with what each means for that command. */
export function exitStatusHelp(meaning: { ok: string; finding?: string; badInput?: string }): string {
  const lines = [
    'Exit status:',
    `  0  ${meaning.ok}`,
    ...(meaning.finding ? [`  1  ${meaning.finding}`] : []),
    '  2  usage error',
    `  3  ${meaning.badInput ?? 'bad input: a file missing, unreadable or malformed'}`,
    '(the same table for every command: tensorsafe --help)',
  ];
  return lines.join('\n');
}
