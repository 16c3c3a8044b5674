import type { ByteSource } from '../../io/byte-source.js';
import { SafetensorsFile } from '../../safetensors/reader.js';
import { safetensorsTensorSet } from '../../tensor/safetensors-set.js';
import type { FormatReader } from '../format.js';
import { scanSafetensors } from './scan-rules.js';

/** A safetensors file as a TensorSet; its structure is the parsed file (header, offsets, metadata). */
export const safetensorsReader: FormatReader<SafetensorsFile> = {
  async open(source: ByteSource) {
    const file = await SafetensorsFile.open(source);
    return { tensors: safetensorsTensorSet(file), structure: file };
  },
  // The strict validator reads the header again: a header is KiB, and the validator's verdict is the scan's.
  scan: (source, ctx) => scanSafetensors(source, ctx),
};
