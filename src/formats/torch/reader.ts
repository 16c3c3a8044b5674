import type { ByteSource } from '../../io/byte-source.js';
import type { FormatReader, OpenOptions } from '../format.js';
import type { TorchCheckpoint } from './checkpoint.js';
import { openTorchTensorSet } from './weights.js';

/** A PyTorch checkpoint as a TensorSet; its structure is the checkpoint read by the data-only pickle machine. */
export const pytorchReader: FormatReader<TorchCheckpoint> = {
  async open(source: ByteSource, options: OpenOptions = {}) {
    const tensors = await openTorchTensorSet(source, { key: options.key, skipUnknown: options.skipUnknown });
    return { tensors, structure: tensors.checkpoint };
  },
};
