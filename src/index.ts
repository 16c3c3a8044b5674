/**
 * tensorsafe for browsers and Node: the public API, name by name (README "Library API").
 * Nothing is exported by `export *`: a name reaches users only when it is listed here, and
 * test/public-api.test.ts freezes the list (test/fixtures/public-api/index.txt).
 * No module below this one imports a Node built-in.
 */

// Errors: one class per family (for instanceof), one union of codes.
export {
  TensorsafeError,
  SafetensorError,
  IoError,
  isTensorsafeError,
  inFile,
  type ErrorCode,
  type SafetensorErrorCode,
  type ShardErrorCode,
  type IoErrorCode,
  type PickleErrorCode,
  type CheckpointErrorCode,
  type FormatErrorCode,
  type NumpyErrorCode,
  type GgufErrorCode,
  type OnnxErrorCode,
  type TfliteErrorCode,
  type TfjsErrorCode,
  type TfCheckpointErrorCode,
  type CoremlErrorCode,
  type KerasErrorCode,
  type XmlErrorCode,
  type PmmlErrorCode,
  type PfaErrorCode,
  type MxnetErrorCode,
  type PaddleErrorCode,
  type FlaxErrorCode,
  type ZipErrorCode,
  type IntegrityErrorCode,
  type RuntimeErrorCode,
  type VerdictErrorCode,
  type GeneralErrorCode,
  type TensorsafeErrorOptions,
} from './errors.js';
export { PickleError } from './formats/pickle/errors.js';
export { CheckpointError } from './formats/torch/errors.js';
export { ZipError, type ZipFinding } from './formats/zip/errors.js';
export { IntegrityError } from './integrity/errors.js';

// Tensors and dtypes.
export { DTYPES, DTYPE_INFO, type Dtype, type DtypeArrays, type DtypeArray, type DtypeInfo, type TensorData } from './dtype/dtypes.js';
export type { Tensor, TensorOf } from './dtype/tensor.js';
export {
  toFloat32,
  fromFloat32,
  f16ToF32,
  f32ToF16,
  bf16ToF32,
  f32ToBf16,
  decodeElement,
  encodeElement,
  packSubByte,
  unpackSubByte,
  type FloatDtype,
  type MinifloatDtype,
} from './dtype/float-codecs.js';

// Byte sources and sinks.
export { MemorySource, WindowSource, BlobSource, type ByteSource, type ReadOptions } from './io/byte-source.js';
export { MemorySink, type ByteSink } from './io/byte-sink.js';
export {
  HttpSource,
  DEFAULT_PREFETCH_BYTES,
  DEFAULT_RETRIES,
  MAX_RETRY_DELAY_MS,
  MAX_RETRY_AFTER_MS,
  type FetchLike,
  type HttpSourceOptions,
  type HttpSourceStats,
} from './io/http-source.js';

// Reading safetensors.
export { load } from './safetensors/load.js';
export { safeOpen, type SafeOpenSource, type SafeOpenOptions } from './safetensors/open.js';
export { SafetensorsFile, readHeader, type SafetensorsHandle, type TensorSlice } from './safetensors/reader.js';
export { ShardedSafetensors, MAX_INDEX_BYTES, type ShardIndex } from './safetensors/sharded.js';
export { checkHeaderLength, parseHeader, type SafetensorsHeader, type TensorInfo } from './safetensors/header.js';
export { planSlice, type SliceIndex, type SliceRange, type SlicePlan, type ByteRun } from './safetensors/slice.js';
export { validateSource, type ValidationResult } from './safetensors/validate.js';
export { MAX_HEADER_SIZE, MAX_JSON_DEPTH } from './safetensors/limits.js';

// Writing safetensors.
export { save, type SaveOptions } from './safetensors/save.js';
export { SafetensorsStreamWriter, type StreamWriterOptions } from './safetensors/stream-writer.js';
export type { TensorsInput, TensorLike } from './safetensors/tensor-input.js';
export type { TensorSpec, Metadata } from './safetensors/layout.js';

// TensorSets: the shape every reader produces.
export { DEFAULT_CHUNK_BYTES, type TensorSet, type TensorEntry, type TensorEncoding, type TensorFidelity, type LeftOut } from './tensor/tensor-set.js';

// Formats: the registry every command reaches a format through.
export { FORMATS, formatById, formatsByExtension, detectSourceFormat } from './formats/registry.js';
export type { FormatDescriptor, FormatReader, ParsedModel, DetectProbe, OpenOptions, FormatView, ViewSection, ViewRow } from './formats/format.js';
export { MAX_GATHER_READS, MAX_GATHER_SPAN } from './tensor/strided.js';
export { safetensorsTensorSet } from './tensor/safetensors-set.js';

// PyTorch checkpoints, pickles and zip archives, read without running anything.
export { readTorchCheckpoint, type TorchCheckpoint, type TorchFormat, type ReadCheckpointOptions } from './formats/torch/checkpoint.js';
export { openTorchTensorSet, type OpenTorchOptions, type TorchTensorSet } from './formats/torch/weights.js';
export { TorchStorage, TorchTensor, TorchUnsupported } from './formats/torch/values.js';
export { unpickle, type GlobalHandler, type MachineOptions, type Placeholder, type UnpickleResult, type CallContext } from './formats/pickle/machine.js';
export { readOp, type Op, type OpArg } from './formats/pickle/disassemble.js';
export { classifyGlobal, SAFE_GLOBALS, type GlobalVerdict } from './formats/pickle/allowlist.js';
export { PyFloat, PyTuple, PyDict, PySet, PyByteArray, PyComplex, PyGlobal, PyObject, PyOpaque, PyExtension, type PyValue } from './formats/pickle/values.js';
export {
  MAX_OPS,
  MAX_STACK,
  MAX_MARK_DEPTH,
  MAX_MEMO,
  MAX_STRING_BYTES,
  MAX_LINE_BYTES,
  MAX_LONG_BYTES,
  MAX_CONTAINER_ITEMS,
  MAX_PICKLE_HEAP_BYTES,
  MAX_TEXT_CHARS,
} from './formats/pickle/limits.js';
export { openZip, type ZipArchive, type ZipEntry, type OpenZipOptions } from './formats/zip/index.js';
export { MAX_ZIP_ENTRIES, MAX_CENTRAL_DIRECTORY_BYTES, MAX_ENTRY_NAME_BYTES, MAX_INFLATED_ENTRY_BYTES } from './formats/zip/limits.js';

// Conversion steps.
export { dedupeTensors, type Deduplicated } from './convert/dedupe.js';
export { writeTensors, type WriteTensorsOptions, type Progress } from './convert/write.js';
export { checkOutput, type Mismatch, type CheckOptions } from './convert/check-output.js';

// Verifying.
export { verifySets, type VerifyReport, type VerifyProgress } from './verify/verify-sets.js';
export { compareTensors, BIT_EXACT, type VerifyRule, type TensorStatus, type ValueStats, type TensorComparison } from './tensor/compare-tensors.js';
export { compareSets, type CompareSetsOptions } from './tensor/compare-sets.js';

// Scanning.
export { scanSource, scanBytes, type ScanOptions } from './scan/scan.js';
export { analyzePickles, type PickleAnalysisOptions, type PickleStreamResult } from './scan/pickle-analysis.js';
export { toSarif } from './scan/sarif.js';
export { MAX_FINDINGS_PER_FILE, type ScanReport, type Finding, type Severity, type Verdict } from './formats/findings.js';

// Hashes and signatures.
export { createSha256, sha256, toHex, type Hasher } from './integrity/sha256.js';
export {
  hashSafetensors,
  canonicalJson,
  compareManifests,
  checkManifest,
  type Manifest,
  type TensorDigest,
  type HashOptions,
  type HashProgress,
  type ManifestChange,
  type ManifestComparison,
} from './integrity/manifest.js';
export {
  signManifest,
  verifyManifestSignature,
  parseSignatureFile,
  formatSignatureFile,
  signedBytes,
  signedWith,
  webCryptoEd25519,
  type SignatureFile,
  type Ed25519Backend,
  type SignOptions,
} from './integrity/signature.js';
export { parsePrivateKeyPem, parsePublicKeyPem, privateKeyToPem, publicKeyToPem, type Ed25519PrivateKey, type Ed25519PublicKey } from './integrity/pem.js';
export { MAX_PEM_BYTES, MAX_SIGNATURE_FILE_BYTES, HASH_CHUNK_BYTES } from './integrity/limits.js';

// The Hugging Face Hub: references (hf://owner/repo[@revision]/path, owner/repo), resolved to file URLs at a pinned commit; credentials kept to their origin.
export { parseHubReference, formatHubReference, isCommitHash, HF_SCHEME, DEFAULT_REVISION, MAX_REFERENCE_LENGTH, type HubReference } from './hub/reference.js';
export {
  resolveHubModel,
  openHubFile,
  hubFileUrl,
  hubRevisionUrl,
  hubFetch,
  DEFAULT_HUB_ENDPOINT,
  MAX_HUB_LISTING_BYTES,
  MAX_HUB_FILES,
  HUB_FILE_PREFETCH_BYTES,
  type HubOptions,
  type HubLocal,
  type HubFile,
  type HubModel,
  type OpenedHubFile,
} from './hub/resolve.js';
export { MAX_HUB_MESSAGE_CHARS } from './hub/errors.js';
export { scopedFetch, MAX_REDIRECTS, type OriginHeaders } from './io/scoped-fetch.js';
export type { HubErrorCode } from './errors.js';
