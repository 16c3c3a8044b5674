/**
 * tensorsafe for Node: everything in the browser entry, plus local files.
 * `safeOpen` here also takes file paths (and folders holding a model).
 */
export * from './index.js';
export { FileSource } from './node/file-source.js';
export { FileSink, type FileSinkOptions } from './node/file-sink.js';
export { loadFile, loadFileSync, saveFile, saveFileSync, saveShardedFiles, type SaveFileOptions, type SaveShardedOptions, type ShardedResult } from './node/files.js';
export { safeOpen, openPath } from './node/open-path.js';
export { convertCheckpoint, convertModel, safetensorsNameFor, VerificationError, type ConvertOptions, type ConvertSummary } from './node/convert.js';
export { UnsafeFileError, openCheckpoints, mergedEntries, openModelFile, openModelFiles, type OpenedFile } from './node/open-files.js';
export { scanFile } from './node/scan-file.js';
export { openModel, type OpenModelOptions } from './node/open-model.js';
export { findModel, formatOfFile, type FindModelOptions, type ModelFiles } from './node/model-files.js';
export { convertFolder, findModels, batchMarkdown, type BatchOptions, type BatchReport, type BatchModelResult, type BatchStatus, type FoundModel } from './node/batch.js';
export { hashFile, signFile, verifyFileSignature, readPrivateKeyFile, readPublicKeyFile, readSignatureFile, nodeSha256, nodeEd25519, type SignFileOptions, type FileSignatureCheck } from './node/integrity.js';
