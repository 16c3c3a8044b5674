import type { FormatDescriptor } from '../format.js';

/**
 * The files llama.cpp wrote before GGUF (2023): a u32 magic `ggml` (unversioned), `ggmf` (version 1)
 * or `ggjt` (versions 1 to 3), little-endian, then the model's hyperparameters, its vocabulary and its
 * tensors. Data only: nothing in them is run by any loader.
 */
export const ggmlFormat: FormatDescriptor = {
  id: 'ggml',
  name: 'GGML legacy (ggml, ggmf, ggjt)',
  // llama.cpp named them `ggml-model-<type>.bin`: found by their bytes, `.bin` being PyTorch's too.
  extensions: ['.bin'],
  inert: true,
  ruleDescriptions: {
    'ggml/valid': 'a legacy GGML file whose structure was checked: it holds data only and cannot carry code',
    'ggml/malformed': 'a legacy GGML file whose structure is damaged, or is not the llama layout tensorsafe reads',
    'ggml/limit-exceeded': 'a legacy GGML file past one of tensorsafe’s limits: not fully checked',
  },
  detect: (probe) => probe.container === 'ggml',
  load: () => import('./reader.js').then((m) => m.ggmlReader),
};
