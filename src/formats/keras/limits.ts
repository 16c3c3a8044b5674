/**
 * The Keras reader's limits (the HDF5 structure has its own, in formats/hdf5; the config's scan rules
 * theirs, in config-rules.ts). Each bounds what a hostile file can make the reader do.
 */

/** Layers listed in `layer_names` (real models: up to a few thousand): bounds the groups looked up. */
export const MAX_KERAS_LAYERS = 1_000_000;
/** Weights read from one file (every layer's `weight_names`, or every `vars` dataset): bounds the entries made. */
export const MAX_KERAS_WEIGHTS = 1_000_000;
/** Parts of one split name attribute (`layer_names0`, `layer_names1`, …): Keras splits at 64 KB, so a file of millions of names needs thousands. */
export const MAX_KERAS_ATTRIBUTE_PARTS = 100_000;
/** Nesting of objects in a Keras 3 weights file (`layers/<layer>/<sublayer>/…/vars`): bounds the walk of groups. */
export const MAX_KERAS_OBJECT_DEPTH = 64;
/** Groups visited in a Keras 3 weights file: bounds the walk of a file of empty groups. */
export const MAX_KERAS_OBJECTS = 1_000_000;
/** Characters of one weight or layer name (HDF5 link names are rarely over a few hundred): bounds names kept. */
export const MAX_KERAS_NAME_CHARS = 4096;
