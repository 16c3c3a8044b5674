import type { FormatDescriptor } from '../format.js';

/**
 * NumPy arrays: a `.npy` file (one array) by its magic, and an `.npz` archive (np.savez,
 * np.savez_compressed): a zip whose entries are all `.npy` files.
 */
export const numpyFormat: FormatDescriptor = {
  id: 'numpy',
  name: 'NumPy (.npy, .npz)',
  extensions: ['.npy', '.npz'],
  detect: (probe) => probe.container === 'npy' || (probe.container === 'zip' && isNpzListing(probe.entries)),
  load: () => import('./reader.js').then((m) => m.numpyReader),
};

/** An npz's entry names: at least one `.npy` file, and nothing else but folders. */
export function isNpzListing(entries: readonly string[] | undefined): boolean {
  if (!entries) return false;
  const files = entries.filter((n) => !n.endsWith('/'));
  return files.length > 0 && files.every((n) => n.endsWith('.npy'));
}
