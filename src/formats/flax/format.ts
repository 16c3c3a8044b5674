import type { FormatDescriptor } from '../format.js';
import { looksLikeFlax } from './sniff.js';

/**
 * Flax checkpoints written by `flax.serialization.to_bytes` (msgpack_serialize): a msgpack map of the
 * state dict whose arrays are msgpack extensions. Claimed from its bytes only when they start as such
 * a map and its first 512 bytes hold a Flax array extension: arbitrary bytes starting 0x80–0x8f are not.
 * Data only: msgpack_restore runs nothing.
 */
export const flaxFormat: FormatDescriptor = {
  id: 'flax',
  name: 'Flax (.msgpack)',
  framework: 'flax',
  extensions: ['.msgpack'],
  inert: true,
  ruleDescriptions: {
    'flax/valid': 'a Flax msgpack checkpoint whose structure was checked: it holds data only and cannot carry code',
    'flax/malformed': 'a Flax msgpack checkpoint whose structure is damaged',
    'flax/limit-exceeded': 'a Flax msgpack checkpoint past one of tensorsafe’s limits: not fully checked',
  },
  detect: (probe) => looksLikeFlax(probe.head, probe.size),
  load: () => import('./reader.js').then((m) => m.flaxReader),
};
