import type { Tensor } from '../dtype/tensor.js';
import { MemorySource } from '../io/byte-source.js';
import { readHeaderSync, SafetensorsFile } from './reader.js';

/**
 * Parses safetensors bytes into tensors, in file order. Tensors are views into `bytes`
 * (no copy) wherever the data is aligned for its typed array, copies where it is not.
 */
export function load(bytes: Uint8Array): Map<string, Tensor> {
  const source = new MemorySource(bytes);
  const file = new SafetensorsFile(source, readHeaderSync(source));
  const out = new Map<string, Tensor>();
  for (const name of file.header.tensors.keys()) out.set(name, file.getTensorSync(name));
  return out;
}

/** Reads only the metadata and tensor table of safetensors bytes. */
export function loadHeader(bytes: Uint8Array): SafetensorsFile {
  const source = new MemorySource(bytes);
  return new SafetensorsFile(source, readHeaderSync(source));
}
