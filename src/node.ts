/**
 * tensorsafe for Node: everything in the browser entry, plus local files. `safeOpen` here also takes
 * file paths (and folders holding a model). Every name is listed: test/public-api.test.ts freezes the
 * list (test/fixtures/public-api/node.txt) and checks that it holds every name of the browser entry.
 */

// Everything of the browser entry but safeOpen, which this entry extends to paths.
export {
  TensorsafeError, SafetensorError, IoError, isTensorsafeError, inFile, PickleError, CheckpointError, ZipError,
  IntegrityError, DTYPES, DTYPE_INFO, toFloat32, fromFloat32, f16ToF32, f32ToF16, bf16ToF32, f32ToBf16,
  decodeElement, encodeElement, packSubByte, unpackSubByte, MemorySource, WindowSource, BlobSource, MemorySink,
  HttpSource, DEFAULT_PREFETCH_BYTES, DEFAULT_RETRIES, MAX_RETRY_DELAY_MS, MAX_RETRY_AFTER_MS, load, SafetensorsFile,
  readHeader, ShardedSafetensors, MAX_INDEX_BYTES, checkHeaderLength, parseHeader, planSlice, validateSource,
  MAX_HEADER_SIZE, MAX_JSON_DEPTH, save, SafetensorsStreamWriter, DEFAULT_CHUNK_BYTES, MAX_GATHER_READS, MAX_GATHER_SPAN,
  safetensorsTensorSet, readTorchCheckpoint, openTorchTensorSet, TorchStorage, TorchTensor, TorchUnsupported,
  unpickle, readOp, classifyGlobal, SAFE_GLOBALS, PyFloat, PyTuple, PyDict, PySet, PyByteArray, PyComplex, PyGlobal,
  PyObject, PyOpaque, PyExtension, MAX_OPS, MAX_STACK, MAX_MARK_DEPTH, MAX_MEMO, MAX_STRING_BYTES, MAX_LINE_BYTES,
  MAX_LONG_BYTES, MAX_CONTAINER_ITEMS, MAX_PICKLE_HEAP_BYTES, MAX_TEXT_CHARS, openZip, MAX_ZIP_ENTRIES,
  MAX_CENTRAL_DIRECTORY_BYTES, MAX_ENTRY_NAME_BYTES, MAX_INFLATED_ENTRY_BYTES, dedupeTensors, writeTensors,
  checkOutput, verifySets, compareTensors, compareSets, FORMATS, formatById, formatsByExtension, detectSourceFormat, BIT_EXACT, scanSource, scanBytes, analyzePickles, toSarif,
  MAX_FINDINGS_PER_FILE, createSha256, sha256, toHex, hashSafetensors, canonicalJson, compareManifests,
  checkManifest, signManifest, verifyManifestSignature, parseSignatureFile, formatSignatureFile, signedBytes,
  signedWith, webCryptoEd25519, parsePrivateKeyPem, parsePublicKeyPem, privateKeyToPem, publicKeyToPem,
  MAX_PEM_BYTES, MAX_SIGNATURE_FILE_BYTES, HASH_CHUNK_BYTES
} from './index.js';
export type {
  ErrorCode, SafetensorErrorCode, ShardErrorCode, IoErrorCode, PickleErrorCode, CheckpointErrorCode, FormatErrorCode,
  NumpyErrorCode, GgufErrorCode, OnnxErrorCode, TfliteErrorCode, TfjsErrorCode, TfCheckpointErrorCode, CoremlErrorCode, KerasErrorCode, XmlErrorCode, PmmlErrorCode, PfaErrorCode, MxnetErrorCode, PaddleErrorCode, FlaxErrorCode, ZipErrorCode, IntegrityErrorCode, RuntimeErrorCode, VerdictErrorCode, GeneralErrorCode, TensorsafeErrorOptions, ZipFinding, Dtype, DtypeArrays,
  DtypeArray, DtypeInfo, TensorData, Tensor, TensorOf, FloatDtype, MinifloatDtype, ByteSource, ReadOptions, ByteSink,
  FetchLike, HttpSourceOptions, HttpSourceStats, SafeOpenSource, SafeOpenOptions, SafetensorsHandle, TensorSlice,
  ShardIndex, SafetensorsHeader, TensorInfo, SliceIndex, SliceRange, SlicePlan, ByteRun, ValidationResult,
  SaveOptions, StreamWriterOptions, TensorsInput, TensorLike, TensorSpec, Metadata, TensorSet, TensorEntry, TensorEncoding, TensorFidelity, LeftOut, FormatDescriptor, FormatReader, ParsedModel, FormatView, ViewSection, ViewRow,
  DetectProbe, OpenOptions, CompareSetsOptions,
  TorchCheckpoint, TorchFormat, ReadCheckpointOptions, OpenTorchOptions, TorchTensorSet, GlobalHandler,
  MachineOptions, Placeholder, UnpickleResult, CallContext, Op, OpArg, GlobalVerdict, PyValue, ZipArchive, ZipEntry,
  OpenZipOptions, Deduplicated, WriteTensorsOptions, Progress, Mismatch, CheckOptions, VerifyReport, VerifyProgress,
  VerifyRule, TensorStatus, ValueStats, TensorComparison, ScanOptions, PickleAnalysisOptions, PickleStreamResult,
  ScanReport, Finding, Severity, Verdict, Hasher, Manifest, TensorDigest, HashOptions, HashProgress, ManifestChange,
  ManifestComparison, SignatureFile, Ed25519Backend, SignOptions, Ed25519PrivateKey, Ed25519PublicKey
} from './index.js';

// Files and folders.
export { safeOpen } from './node/open-path.js';
export { FileSource } from './node/file-source.js';
export { FileSink, type FileSinkOptions } from './node/file-sink.js';
export { loadFile, loadFileSync, saveFile, saveFileSync, saveShardedFiles, type SaveFileOptions, type SaveShardedOptions, type ShardedResult } from './node/files.js';

// Models: open, convert (one model, or a folder in worker threads), scan.
export { openModel, type OpenModelOptions, type OpenedModel } from './node/open-model.js';
export { convertModel, convertCheckpoint, VerificationError, type ConvertOptions, type ConvertSummary } from './node/convert.js';
export { UnsafeFileError } from './node/open-files.js';
export { convertFolder, findModels, type BatchOptions, type BatchReport, type BatchModelResult, type BatchStatus, type BatchBehaviour, type FoundModel } from './node/batch.js';
export { scanFile } from './node/scan-file.js';

// The behaviour check (verify --run): the original ONNX or TF.js graph model run with its converted weights, in onnxruntime-node or @tensorflow/tfjs (optional packages).
export { verifyBehaviour, type VerifyBehaviourOptions } from './node/verify-behaviour.js';
export type { BehaviourReport, OutputComparison, OutputStatus } from './verify/behaviour.js';

// Hashes and signatures of files, with node:crypto.
export { hashFile, signFile, verifyFileSignature, nodeSha256, nodeEd25519, type SignFileOptions, type FileSignatureCheck } from './node/integrity.js';

// The web page's static server (tensorsafe web), for embedding it in another Node program.
export { startWebServer, WEB_ROOT, WEB_HEADERS, DEFAULT_WEB_PORT, DEFAULT_WEB_HOST, type WebServer, type WebServerOptions } from './node/web-server.js';

// The Hugging Face Hub: the browser entry's resolution, and in Node its settings (HF_ENDPOINT, HF_TOKEN, the token file) and the local cache.
export {
  parseHubReference, formatHubReference, isCommitHash, HF_SCHEME, DEFAULT_REVISION, MAX_REFERENCE_LENGTH, resolveHubModel, openHubFile, hubFileUrl,
  hubRevisionUrl, hubFetch, DEFAULT_HUB_ENDPOINT, MAX_HUB_LISTING_BYTES, MAX_HUB_FILES, HUB_FILE_PREFETCH_BYTES, MAX_HUB_MESSAGE_CHARS, scopedFetch, MAX_REDIRECTS,
} from './index.js';
export type { HubReference, HubOptions, HubLocal, HubFile, HubModel, OpenedHubFile, OriginHeaders, HubErrorCode } from './index.js';
export { useHubCredentials, hubOptions, resolveHubTarget, openHubSource, tokenFilePath, readTokenFile, MAX_TOKEN_FILE_BYTES } from './node/hub.js';
export { hubCache, hubCacheDir, hfHome, MAX_REF_FILE_BYTES } from './node/hub-cache.js';
