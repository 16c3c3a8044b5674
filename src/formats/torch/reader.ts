import type { ByteSource } from '../../io/byte-source.js';
import type { FormatReader, OpenOptions } from '../format.js';
import type { TorchCheckpoint } from './checkpoint.js';
import { torchContainerRules } from './scan-rules.js';

/** A PyTorch checkpoint as a TensorSet; its structure is the checkpoint read by the data-only pickle machine. */
export const pytorchReader: FormatReader<TorchCheckpoint> = {
  async open(source: ByteSource, options: OpenOptions = {}) {
    // Loaded on open only: a scan needs the container rules, not the weights extraction.
    const { openTorchTensorSet } = await import('./weights.js');
    const tensors = await openTorchTensorSet(source, { key: options.key, skipUnknown: options.skipUnknown });
    return { tensors, structure: tensors.checkpoint };
  },
  containerRules: torchContainerRules,
};
