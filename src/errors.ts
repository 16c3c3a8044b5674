/**
 * Every error tensorsafe throws is a TensorsafeError with a stable `code` from one union, `ErrorCode`.
 * safetensors codes are the reference implementation's error variant names
 * (HeaderTooLarge, InvalidOffset, …) so that a verdict can be compared with the
 * Rust crate's one for one; the other codes are tensorsafe's own. A code's string never changes once
 * released: scripts, `--json` output and users' `catch` blocks compare against it.
 *
 * One way to raise: `new TensorsafeError(code, message, options)`, or one of its subclasses (kept as
 * names for `instanceof`), each of which takes its codes from its group below. The type checker
 * rejects a code that is not in the union; src/cli/exit-codes.ts maps every code to an exit status.
 */

/** The safetensors format itself: the reference's `SafeTensorError` variants, plus the slicing ones and tensorsafe's writer checks. */
export type SafetensorErrorCode =
  /** The file is shorter than the 8-byte header length. */
  | 'HeaderTooSmall'
  /** The header length is over MAX_HEADER_SIZE. */
  | 'HeaderTooLarge'
  /** The header length runs past the end of the file. */
  | 'InvalidHeaderLength'
  /** The header is not valid UTF-8. */
  | 'InvalidHeader'
  /** The header is not the JSON safetensors allows (syntax, shape, duplicate keys). */
  | 'InvalidHeaderDeserialization'
  /** A tensor's data_offsets are out of order, overlap, leave a hole or pass the data. */
  | 'InvalidOffset'
  /** A tensor's byte length differs from its dtype and shape. */
  | 'TensorInvalidInfo'
  /** A sub-byte dtype cut or sized off a byte boundary. */
  | 'MisalignedSlice'
  /** A size that overflows u64 (or JavaScript's safe integers where bytes must be counted). */
  | 'ValidationOverflow'
  /** The data buffer is shorter or longer than the offsets say. */
  | 'MetadataIncompleteBuffer'
  /** No tensor of that name. */
  | 'TensorNotFound'
  /** A tensor's data does not fit its dtype and shape (writer), or cannot be held in one typed array. */
  | 'InvalidTensorView'
  /** More slice indices than the tensor has dimensions. */
  | 'TooManySlices'
  /** A slice index past the tensor's dimension. */
  | 'SliceOutOfRange'
  /** A slice that cannot be parsed or has a zero step. */
  | 'InvalidSlice'
  /** A tensor name that is not well-formed Unicode, or is `__metadata__` (writer). */
  | 'InvalidTensorName'
  /** Metadata that is not a map of strings to strings (writer). */
  | 'InvalidMetadata'
  /** A dtype safetensors does not have, or a value its codec cannot encode. */
  | 'InvalidDtype'
  /** A shape that is not an array of non-negative integers. */
  | 'InvalidShape'
  /** A tensor given twice to a writer. */
  | 'DuplicateTensor'
  /** Streaming writer: bytes for a tensor out of file order on a sequential sink. */
  | 'WriteOrder'
  /** Streaming writer: more bytes for a tensor than it takes. */
  | 'WriteOverflow'
  /** Streaming writer: a tensor with bytes missing at close; a memory sink's bytes read before close. */
  | 'IncompleteWrite'
  /** A synchronous read from a source that can only read asynchronously. */
  | 'NotSynchronous'
  /** A handle, writer or hasher used after close (or after its digest). */
  | 'Closed';

/** Sharded sets: `model.safetensors.index.json` and its shards. */
export type ShardErrorCode =
  /** The index is not JSON, has no `weight_map`, names a shard outside its folder, or is larger than MAX_INDEX_BYTES. */
  | 'InvalidShardIndex'
  /** The index and the shards disagree on where a tensor is. */
  | 'ShardMismatch';

/** Transport and files (kept apart from parse errors): reading sources, writing outputs. */
export type IoErrorCode =
  /** A read or write failed for a reason the operating system or runtime gave (named in the message). */
  | 'IoError'
  /** A read past the end of a source. */
  | 'OutOfRange'
  /** An HTTP status that is neither success nor worth retrying (404, 403, …), or retries ran out. */
  | 'HttpError'
  /** The server answered 416: the range is past the end of the file. */
  | 'RangeNotSatisfiable'
  /** The file changed between reads (ETag, Last-Modified or size): bytes of two versions are never mixed. */
  | 'SourceChanged'
  /** The server's body ended early, and resuming it failed. */
  | 'TruncatedResponse'
  /** The server's answer breaks HTTP range rules (unusable Content-Range, compressed range, unknown size). */
  | 'InvalidResponse'
  /** A page of another origin may not read the server's answer, or its Content-Range (CORS): the server must allow it. */
  | 'CorsRefused'
  /** A request took longer than its timeout. */
  | 'Timeout'
  /** The caller's AbortSignal stopped the operation. */
  | 'Aborted'
  /** The output exists and overwriting was not asked for. */
  | 'OutputExists'
  /** Two sources would be converted to the same output file. */
  | 'OutputConflict'
  /** A folder holds two models under one name (`model.safetensors` and `model.safetensors.index.json`). */
  | 'AmbiguousModel'
  /** No such file or folder. */
  | 'NotFound'
  /** The operating system refused access (EACCES, EPERM). */
  | 'PermissionDenied'
  /** The disk is full (ENOSPC). */
  | 'NoSpace'
  /** The file system is mounted read-only (EROFS). */
  | 'ReadOnlyFileSystem'
  /** A folder where a file was expected (EISDIR). */
  | 'IsADirectory'
  /** A file where a folder was expected on the path (ENOTDIR). */
  | 'NotADirectory'
  /** A FIFO, socket or device where a file was expected: it has no size to read within, and a FIFO would wait for a writer for ever. */
  | 'NotAFile'
  /** The process or system ran out of file descriptors (EMFILE, ENFILE). */
  | 'TooManyOpenFiles';

/** Pickle streams, read by the data-only machine (src/formats/pickle). */
export type PickleErrorCode =
  /** A global on the denylist, or reached by a dotted name: the file would run code. */
  | 'UnsafeGlobal'
  /** A global that is neither allowlisted nor known to be dangerous (strict mode). */
  | 'UnsupportedGlobal'
  /** The stream ends before its STOP opcode or inside an opcode's argument. */
  | 'PickleTruncated'
  /** A byte that is not an opcode, or an opcode the machine does not run in that place. */
  | 'InvalidOpcode'
  /** Opcodes that are valid one by one but build something impossible (a dict from non-pairs, …). */
  | 'InvalidPickle'
  /** A protocol newer than the machine knows. */
  | 'UnsupportedProtocol'
  /** An opcode needs more values than the stack holds. */
  | 'StackUnderflow'
  /** An opcode needs a MARK and there is none. */
  | 'MarkMissing'
  /** A memo entry is read before it is written. */
  | 'MemoMissing'
  /** An opcode runs past the end of its FRAME, or frames overlap. */
  | 'FrameMismatch'
  /** A named limit of the machine (opcodes, stack, memo, string size, memory) was reached. */
  | 'PickleLimit';

/** PyTorch checkpoints (src/formats/torch). */
export type CheckpointErrorCode =
  /** The bytes are not a PyTorch checkpoint in any known container. */
  | 'NotACheckpoint'
  /** The container is damaged or inconsistent (sizes, keys, records). */
  | 'InvalidCheckpoint'
  /** A tensor safetensors cannot hold (complex128, quantized, sparse, meta). */
  | 'UnsupportedTensor'
  /** No tensors where the weights should be (any format's model with none: convert writes nothing). */
  | 'NoTensors'
  /** `--key` names nothing in the checkpoint. */
  | 'KeyNotFound'
  /** Reading the checkpoint's object would take more work or memory than a named limit allows (hostile sharing or nesting). */
  | 'CheckpointLimit';

/** Models of any format, as the registry finds and opens them (src/formats/registry.ts). */
export type FormatErrorCode =
  /** No registered format claims the bytes (an image, a web page, a Git LFS pointer, …): named in the message. */
  | 'NotAModel'
  /** A format tensorsafe recognises and scans but cannot read tensors from yet. */
  | 'UnsupportedFormat';

/** NumPy .npy and .npz files (src/formats/numpy); a dtype safetensors cannot hold is `UnsupportedTensor`. */
export type NumpyErrorCode =
  /** The bytes are neither a .npy file nor a zip archive of .npy arrays (.npz); the message says what they are. */
  | 'NotNumpy'
  /** A .npy header or its data is damaged: bad magic or version, a header numpy refuses, truncated data. */
  | 'InvalidNumpy'
  /** An object array: its data is a pickle, which is never read (numpy needs allow_pickle=True for it). */
  | 'ObjectArray'
  /** A named limit stopped the read (header size, dimensions, members). */
  | 'NumpyLimit';

/**
 * GGUF files (src/formats/gguf) and the legacy GGML/GGMF/GGJT files before them (src/formats/ggml); a ggml
 * type not decoded is `UnsupportedTensor`, naming the type and tensor.
 */
export type GgufErrorCode =
  /** A GGUF header or its tensor data is damaged: bad magic or version, unknown value type, data outside the file. */
  | 'InvalidGguf'
  /** A named limit stopped the read (tensor count, dimensions, string or array lengths, nesting, the metadata sidecar's size). */
  | 'GgufLimit'
  /** GGUF metadata kept in safetensors (`gguf.types`, a `.gguf-metadata.json` sidecar) that does not read back: a bad type name or value. */
  | 'InvalidGgufMetadata'
  /** A legacy GGML file is damaged, or is not the llama layout: its tensor walk does not end exactly at the end of the file. */
  | 'InvalidGgml'
  /** A named limit stopped the read of a legacy GGML file (vocabulary, tensor count, name length). */
  | 'GgmlLimit';

/** ONNX models (src/formats/onnx); a dtype safetensors cannot hold (string, complex128, int4) is `UnsupportedTensor`. */
export type OnnxErrorCode =
  /** The protobuf is damaged or not an ONNX ModelProto: bad wire data, a tensor whose bytes do not match its dims and dtype. */
  | 'InvalidOnnx'
  /** A named limit stopped the read (nesting, fields, typed data, tensors). */
  | 'OnnxLimit'
  /** External data that is refused: a location outside the model's folder (absolute, `..`, a symlink out), a missing folder, `segment`, a range past the file. */
  | 'ExternalDataRefused'
  /** External data whose bytes do not have the SHA-1 `checksum` the model gives for them. */
  | 'ExternalDataChecksum';

/** TFLite models (src/formats/tflite). */
export type TfliteErrorCode =
  /** The FlatBuffer is damaged or not a TFLite Model: bad offsets, a buffer whose size is not its tensor's shape × dtype. */
  | 'InvalidTflite'
  /** A named limit stopped the read (tables, vector lengths, strings, quantization parameters). */
  | 'TfliteLimit';
/** HDF5 files (src/formats/hdf5): the structure (superblock, object headers, groups, attributes) and the storage of datasets. */
export type Hdf5ErrorCode =
  /** The file is damaged or not HDF5: a bad signature, checksum or structure, an address outside the file, a cycle. */
  | 'InvalidHdf5'
  /** A named limit stopped the read (objects, links, header messages, heap objects, B-tree depth, attribute bytes, chunk bytes). */
  | 'Hdf5Limit'
  /** Valid HDF5 that is not read: a message marked "must understand" that is unknown, shared messages in a heap, a filter other than deflate, shuffle and fletcher32. */
  | 'Hdf5Unsupported';
/** Keras models (src/formats/keras): `.keras` archives, `.weights.h5` and legacy `.h5` files; a damaged HDF5 structure is the HDF5 reader's code. */
export type KerasErrorCode =
  /** The Keras layout is damaged: config.json or metadata.json not JSON, a name attribute that is not strings, weights in neither `model.weights.h5` nor `model.weights.npz`. */
  | 'InvalidKeras'
  /** A named limit stopped the read (layers, weights, name attributes, nesting, a deflated weights entry). */
  | 'KerasLimit'
  /** A layer that `layer_names` lists has no group in the file. */
  | 'KerasLayerMissing'
  /** A weight that a layer's `weight_names` lists has no dataset in the file. */
  | 'KerasWeightMissing'
  /** A layer or weight listed twice (`layer_names`, `weight_names`): which one a loader would take is ambiguous. */
  | 'KerasDuplicate';
/** Core ML models (src/formats/coreml): `.mlmodel`, `.mlpackage` folders, compiled `.mlmodelc` folders; a blob file outside the package is `ExternalDataRefused`. */
export type CoremlErrorCode =
  /** The model is damaged or not Core ML: a truncated protobuf, a Manifest.json or MIL text that does not parse, a weight whose size or quantization does not fit. */
  | 'InvalidCoreml'
  /** A named limit stopped the read (protobuf fields, nesting, MIL text, blobs, decompressed weights). */
  | 'CoremlLimit'
  /** A weight blob is damaged: its metadata record's sentinel is not 0xDEADBEEF, an unknown blob dtype, an offset or size outside weight.bin. */
  | 'CoremlBlobInvalid'
  /** Weights that are not held in a form tensorsafe reads: a compiled neural network (`model.espresso.*`, `coremldata.bin`). */
  | 'CoremlUnsupported';
/** TF.js model.json files and their weight shards (src/formats/tfjs); a string weight is `UnsupportedTensor`. */
export type TfjsErrorCode =
  /** The model.json or its weights manifest is damaged: not JSON, a group or weight spec of the wrong shape, an unknown dtype or quantization. */
  | 'InvalidTfjs'
  /** A named limit stopped the read (model.json size, weights, shards, dimensions). */
  | 'TfjsLimit'
  /** A weight shard is shorter or longer than the weights its group lists in the manifest. */
  | 'TfjsShardMismatch';
/** TensorFlow SavedModels and checkpoints (src/formats/tf-checkpoint): the .index table, its entries and the data shards. */
export type TfCheckpointErrorCode =
  /** The index or saved_model.pb is damaged: a bad footer, block CRC-32C, entry or slice, a tensor past its shard's end. */
  | 'InvalidTfCheckpoint'
  /** A named limit stopped the read (index bytes, entries, block bytes, dimensions, shards, slices). */
  | 'TfCheckpointLimit'
  /** A tensor's bytes do not match the CRC-32C its index entry holds (changed or damaged data). */
  | 'TfCheckpointChecksum'
  /** A file the checkpoint needs (a data shard, a SavedModel's variables index) is not in the model's folder. */
  | 'TfCheckpointFileMissing';

/** XML documents (src/formats/xml), the text of PMML files. */
export type XmlErrorCode =
  /** The document is not well-formed XML: a tag not closed, an attribute twice, text after the root, bytes that are not UTF-8. */
  | 'InvalidXml'
  /** A named limit stopped the parse (size, depth, elements, attributes, text, names). */
  | 'XmlLimit'
  /** A DOCTYPE declaration: it can declare entities (XXE, billion laughs); refused outright. */
  | 'XmlDoctypeRefused'
  /** A reference to an entity other than the five predefined ones and character references. */
  | 'XmlEntityRefused'
  /** The XML declaration names an encoding other than UTF-8, or the bytes start with another encoding's mark. */
  | 'XmlEncodingRefused';
/** PMML documents (src/formats/pmml). */
export type PmmlErrorCode =
  /** Not a PMML document, or its models are damaged: a number that is not one, an Array whose count is not its n, a weight from a neuron that is not there. */
  | 'InvalidPmml'
  /** A named limit stopped the read (models, nesting of segments, array elements). */
  | 'PmmlLimit';
/** PFA documents (src/formats/pfa), JSON or YAML. */
export type PfaErrorCode =
  /** Not a PFA document: not JSON or YAML, not an object with input, output and action, a cell or pool of the wrong shape. */
  | 'InvalidPfa'
  /** A named limit stopped the read (size, cells, nesting, elements, YAML aliases). */
  | 'PfaLimit'
  /** A cell's or pool's nested numeric array whose rows differ in length: no tensor has that shape. */
  | 'PfaRaggedArray';

/** MXNet `.params` and `.nd` files (src/formats/mxnet); a type flag safetensors cannot hold is `UnsupportedTensor`. */
export type MxnetErrorCode =
  /** The NDArray list is damaged: a bad list magic, an unknown version, storage or type flag, a sparse array whose indices are out of order or range, data past the end. */
  | 'InvalidMxnet'
  /** A named limit stopped the read (arrays, dimensions, name bytes, sparse index bytes). */
  | 'MxnetLimit';
/** PaddlePaddle `.pdparams` and `.pdopt` files (src/formats/paddle): pickles of a dict of NumPy arrays. */
export type PaddleErrorCode =
  /** The pickle is not a Paddle state dict: not a dict, a value that is not a NumPy array as paddle.save writes it, an array whose bytes do not match its shape and dtype. */
  | 'InvalidPaddle'
  /** A named limit stopped the read (arrays, dimensions). */
  | 'PaddleLimit'
  /** The file is optimizer state (a `.pdopt` file: moments, beta powers, a learning-rate scheduler): inspected and scanned, never converted as weights. */
  | 'PaddleOptimizerState';
/** Flax msgpack checkpoints (src/formats/flax); a dtype safetensors cannot hold is `UnsupportedTensor`. */
export type FlaxErrorCode =
  /** The msgpack is damaged or not a Flax state dict: a bad type byte, data past the end, an ndarray extension whose shape, dtype or buffer do not agree, a chunked array that does not assemble. */
  | 'InvalidFlax'
  /** A named limit stopped the read (nesting, items, string and binary sizes, arrays). */
  | 'FlaxLimit';

/**
 * Zip archives (src/formats/zip). The same code names an error (strict mode, or a problem no mode can
 * read past) and a finding (non-strict mode records the anomaly and goes on).
 */
export type ZipErrorCode =
  /** No end-of-central-directory record: not a zip archive. */
  | 'NotZip'
  /** A structure, a comment or an entry's data runs past the end of the source. */
  | 'Truncated'
  /** A ZIP64 end record, locator or extra field is missing, malformed or contradicts the classic record. */
  | 'Zip64Invalid'
  /** The archive spans several disks (split archive): refused. */
  | 'Multidisk'
  /** The end record's entry counts disagree with each other or with the central directory. */
  | 'CountMismatch'
  /** A central-directory record is malformed, or the directory overlaps the end records. */
  | 'BadCentralDirectory'
  /** No local file header where the central directory points. */
  | 'BadLocalHeader'
  /** The local header's name differs from the central directory's (CVE-2025-1944). */
  | 'NameMismatch'
  /** The local header's method, flags, CRC or sizes differ from the central directory's. */
  | 'HeaderMismatch'
  /** Two entries have the same name: readers disagree on which one a name means. */
  | 'DuplicateName'
  /** A name with a `..` segment, an absolute path, a drive letter, a backslash, a NUL, invalid UTF-8, or empty. */
  | 'UnsafeName'
  /** A name longer than MAX_ENTRY_NAME_BYTES. */
  | 'NameTooLong'
  /** Flag bit 0 (encryption) is set (CVE-2025-1945). */
  | 'Encrypted'
  /** Flag bits 0x20 (patched data) or 0x40 (strong encryption) are set (CVE-2025-1945). */
  | 'OddFlags'
  /** A compression method other than 0 (stored) or 8 (deflate). */
  | 'UnsupportedMethod'
  /** An entry's bytes overlap another entry's or the central directory (overlapping-file zip bombs, hidden data). */
  | 'OverlappingEntries'
  /** Bytes before the first local header: a prepended file (polyglot, self-extractor). */
  | 'LeadingData'
  /** Bytes after the end record and its comment: an appended file (polyglot). */
  | 'TrailingData'
  /** Bytes between entries, or between the last entry and the central directory, that no entry owns. */
  | 'UnreferencedData'
  /** Sizes that cannot both be right: stored entries whose two sizes differ, deflate output longer or shorter than declared (zip bombs). */
  | 'SizeMismatch'
  /** Deflate data that does not decode. */
  | 'BadDeflate'
  /** The bytes of an entry read in full do not match its CRC-32 (changed after it was written). */
  | 'BadCrc'
  /** More entries than MAX_ZIP_ENTRIES. */
  | 'TooManyEntries'
  /** A central directory larger than MAX_CENTRAL_DIRECTORY_BYTES. */
  | 'CentralDirectoryTooLarge'
  /** An entry larger than the inflate limit (MAX_INFLATED_ENTRY_BYTES unless raised). */
  | 'EntryTooLarge'
  /** More findings than MAX_ZIP_FINDINGS: the rest were not recorded. */
  | 'TooManyFindings';

/** Manifests, keys and signature files (src/integrity). A signature that does not verify is a result, not an error. */
export type IntegrityErrorCode =
  /** Not a PEM block, bad base64, or DER that does not parse. */
  | 'InvalidPem'
  /** A well-formed key of the wrong kind: RSA, EC, Ed448, X25519, encrypted, or public where private is needed (and back). */
  | 'InvalidKey'
  /** A .sig that is not a tensorsafe signature file (bad JSON, wrong format or algorithm, missing fields). */
  | 'InvalidSignatureFile'
  /** A manifest that is not a tensorsafe manifest (in a .sig, or given to compareManifests). */
  | 'InvalidManifest'
  /** A value canonicalJson cannot write deterministically (NaN, undefined, a function, a BigInt, a cycle). */
  | 'NotCanonical'
  /** This JavaScript engine's WebCrypto has no Ed25519 (older browsers): pass a backend. */
  | 'Ed25519Unavailable';

/** The runtime adapters (src/runtime): tensors to and from ONNX Runtime and TensorFlow.js, tfjs model weights. */
export type RuntimeErrorCode =
  /** A dtype the runtime has no equivalent for: C64 in ONNX Runtime, a string tensor, an ONNX Runtime type safetensors lacks. */
  | 'RuntimeDtype'
  /** A value the conversion would change: an integer outside the runtime's range, a float that would round without `lossy`. */
  | 'LossyConversion'
  /** Strict loadWeights: the tensors and the model's weights differ (missing, unexpected, mismatched shape or dtype), named in the message. */
  | 'WeightsMismatch';
/** The Hugging Face Hub (src/hub): its refusals, told apart by its `X-Error-Code` header. */
export type HubErrorCode =
  /** No such repository, or a private one asked for without a token (or with one that has no access): the Hub's RepoNotFound, or 401. */
  | 'HubRepoNotFound'
  /** A gated repository whose terms the token's account has not accepted (or no token): the Hub's GatedRepo. */
  | 'HubGatedRepo'
  /** No such branch, tag or commit in the repository: the Hub's RevisionNotFound. */
  | 'HubRevisionNotFound'
  /** No such file in the repository at that revision: the Hub's EntryNotFound. */
  | 'HubEntryNotFound'
  /** Any other 401 or 403 of the Hub: a token it refuses, a repository it disables. */
  | 'HubAccessDenied';

/** Conversion and verification: the file was read and judged, and the judgement is "no". */
export type VerdictErrorCode =
  /** The scanner found that the file would run code when loaded: it is not converted. */
  | 'UnsafeFile'
  /** A converted output did not match its source, tensor for tensor: nothing was kept. */
  | 'VerificationFailed';

/** The behaviour check (verify --run): the original and the converted model run in their runtime, outputs compared. */
export type BehaviourErrorCode =
  /** The runtime a model needs (onnxruntime-node, @tensorflow/tfjs) is not installed: the message says what to install. */
  | 'RuntimeMissing'
  /** The runtime could not load or run a model (an operator it lacks, a graph it refuses): its own words are in the message. */
  | 'RuntimeFailed'
  /** A model the behaviour check cannot run: a format without a runtime, several files, a weight that cannot be put back (a sparse Constant). */
  | 'RunUnsupported'
  /** The converted weights do not fit the original graph: a weight missing, or of another dtype or shape. */
  | 'RunWeightMismatch'
  /** Inputs (--inputs) that do not match the graph's: an input missing or unknown, of another dtype or shape. */
  | 'InputMismatch'
  /** A named limit of the behaviour check stopped it (model bytes run, elements of an input or output). */
  | 'RunLimit'
  /** An output of the model with the converted weights differs from the original's (beyond --tolerance): the outputs are named. */
  | 'BehaviourChanged';

/** Arguments and tensorsafe itself. */
export type GeneralErrorCode =
  /** An argument a function or command cannot take (a source of the wrong kind, an output that is its own input). */
  | 'InvalidArgument'
  /** A size text (`5GB`, `--max-shard-size`) that cannot be read. */
  | 'InvalidSize'
  /** Tensor bytes that cannot be what their layout says (a byte swap of a partial element). */
  | 'InvalidTensor'
  /** A strided view (a torch view, a Fortran-order array) whose gather into row-major order would take more separate reads than MAX_GATHER_READS. */
  | 'GatherLimit'
  /** The command line is wrong: unknown command or option, wrong arguments, a bad option value (exit 2). */
  | 'UsageError'
  /** A defect in tensorsafe itself: an invariant broke, or an error that is not a TensorsafeError escaped (exit 70). */
  | 'InternalError';

/** Every code a TensorsafeError can carry. */
export type ErrorCode =
  | SafetensorErrorCode
  | ShardErrorCode
  | IoErrorCode
  | PickleErrorCode
  | CheckpointErrorCode
  | FormatErrorCode
  | NumpyErrorCode
  | GgufErrorCode
  | OnnxErrorCode
  | TfliteErrorCode
  | Hdf5ErrorCode
  | TfjsErrorCode
  | TfCheckpointErrorCode
  | CoremlErrorCode
  | KerasErrorCode
  | XmlErrorCode
  | PmmlErrorCode
  | PfaErrorCode
  | MxnetErrorCode
  | PaddleErrorCode
  | FlaxErrorCode
  | ZipErrorCode
  | IntegrityErrorCode
  | RuntimeErrorCode
  | HubErrorCode
  | VerdictErrorCode
  | BehaviourErrorCode
  | GeneralErrorCode;

/** Where an error is, and what caused it. */
export interface TensorsafeErrorOptions {
  cause?: unknown;
  /** Where the problem is: file, entry, tensor, byte offset (whatever applies). */
  location?: string;
  /** The file (path or URL) the error is about, when known. */
  file?: string;
}

export class TensorsafeError extends Error {
  readonly code: ErrorCode;
  /** Where the problem is: file, entry, tensor, byte offset (whatever applies). */
  readonly location: string | undefined;
  /** The file (path or URL) the error is about, once known: see `inFile`. */
  file: string | undefined;

  constructor(code: ErrorCode, message: string, options?: TensorsafeErrorOptions) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'TensorsafeError';
    this.code = code;
    this.location = options?.location;
    this.file = options?.file;
  }
}

/**
 * Names the file an error is about: sets `file` (once: the innermost file wins) and, when the message
 * does not mention the file yet, puts it in front (`model.safetensors: header character 32 …`), so
 * that every error printed says where. Returns the error, for `throw inFile(e, path)`.
 */
export function inFile<E>(e: E, file: string): E {
  if (e instanceof TensorsafeError && e.file === undefined) {
    e.file = file;
    if (!e.message.includes(file)) e.message = `${file}: ${e.message}`;
  }
  return e;
}

/** Errors of the safetensors format itself; the code is the reference's variant name. */
export class SafetensorError extends TensorsafeError {
  declare readonly code: SafetensorErrorCode;
  constructor(code: SafetensorErrorCode, message: string, options?: { cause?: unknown; location?: string }) {
    super(code, message, options);
    this.name = 'SafetensorError';
  }
}

/** Transport errors (files, HTTP) are kept apart from parse errors. */
export class IoError extends TensorsafeError {
  declare readonly code: IoErrorCode;
  constructor(code: IoErrorCode, message: string, options?: { cause?: unknown; location?: string }) {
    super(code, message, options);
    this.name = 'IoError';
  }
}

export function isTensorsafeError(e: unknown): e is TensorsafeError {
  return e instanceof TensorsafeError;
}
