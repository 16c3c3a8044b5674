import type { ByteSource } from '../../io/byte-source.js';
import { SafetensorsFile } from '../../safetensors/reader.js';
import { safetensorsTensorSet } from '../../tensor/safetensors-set.js';
import type { FormatReader } from '../format.js';

/** A safetensors file as a TensorSet; its structure is the parsed file (header, offsets, metadata). */
export const safetensorsReader: FormatReader<SafetensorsFile> = {
  async open(source: ByteSource) {
    const file = await SafetensorsFile.open(source);
    return { tensors: safetensorsTensorSet(file), structure: file };
  },
};
