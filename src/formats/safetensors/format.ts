import type { FormatDescriptor } from '../format.js';

/** safetensors: its own layer (src/safetensors/) does the work; this folder is its door in the registry. */
export const safetensorsFormat: FormatDescriptor = {
  id: 'safetensors',
  name: 'safetensors (.safetensors)',
  inert: true,
  extensions: ['.safetensors'],
  detect: (probe) => probe.container === 'safetensors',
  load: () => import('./reader.js').then((m) => m.safetensorsReader),
};
