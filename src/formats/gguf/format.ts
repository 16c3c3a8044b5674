import type { FormatDescriptor } from '../format.js';

/** GGUF (llama.cpp, ggml): magic `GGUF`, key-value metadata (chat templates), tensor infos, aligned data. */
export const ggufFormat: FormatDescriptor = {
  id: 'gguf',
  name: 'GGUF (.gguf)',
  extensions: ['.gguf'],
  detect: (probe) => probe.container === 'gguf',
  load: () => import('./reader.js').then((m) => m.ggufReader),
};
