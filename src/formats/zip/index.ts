/** Zip archives (PyTorch checkpoints, TorchScript, .npz, .keras): a checked reader for converters and scanners. */
export { openZip, isZip, ZipArchive, type OpenZipOptions } from './archive.js';
export { ZipEntry } from './entry.js';
export { ZipError, type ZipErrorCode, type ZipFinding } from './errors.js';
export { crc32 } from './crc32.js';
export { decodeCp437 } from './names.js';
export * from './limits.js';
