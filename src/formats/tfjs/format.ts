import type { FormatDescriptor } from '../format.js';

/** The keys that make a JSON document a TF.js model.json (a layers- or graph-model, a bare weights manifest, or the embedded form). */
const TFJS_KEYS = /"modelTopology"|"weightsManifest"|"weightSpecs"/;

/**
 * A bare weights manifest (a JSON array of groups, as npm packages ship them) by its start: tfjs-core and
 * tfjs-converter write each group's `paths` first, then its `weights`.
 */
const BARE_MANIFEST = /^\s*\[\s*\{\s*"(paths|weights)"\s*:/;

/** TF.js: a `model.json` (topology and weights manifest) or a bare weights manifest, beside binary weight shards. */
export const tfjsFormat: FormatDescriptor = {
  id: 'tfjs',
  name: 'TF.js (model.json)',
  // Matched as the end of a file name: every model.json, never every .json (configs, tokenizers).
  extensions: ['model.json'],
  detect: (probe) =>
    (probe.container === 'json' && probe.text !== undefined && TFJS_KEYS.test(probe.text)) ||
    (probe.container === 'text' && BARE_MANIFEST.test(new TextDecoder().decode(probe.head))),
  referencedFiles: shardPaths,
  load: () => import('./reader.js').then((m) => m.tfjsReader),
};

/** The shard paths a model.json or bare manifest lists (strings only; the reader judges them), or none when it does not parse. */
function shardPaths(bytes: Uint8Array): string[] {
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    return [];
  }
  const manifest = Array.isArray(json) ? json : typeof json === 'object' && json !== null ? (json as Record<string, unknown>)['weightsManifest'] : undefined;
  if (!Array.isArray(manifest)) return [];
  return manifest.flatMap((g: unknown) => {
    const paths = typeof g === 'object' && g !== null ? (g as Record<string, unknown>)['paths'] : undefined;
    return Array.isArray(paths) ? paths.filter((p): p is string => typeof p === 'string') : [];
  });
}
