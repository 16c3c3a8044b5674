/**
 * Limits of the HDF5 structure reader: each bounds what a hostile file can make it do (time, memory,
 * recursion); real files are far below every one.
 */

/** Offsets searched for the signature (user blocks are 512, 1024, 2048… bytes): bounds the search. */
export const MAX_HDF5_USERBLOCK_BYTES = 64 * 1024 * 1024;
/** Objects (groups and datasets) walked in one file: a hostile file of links could name millions. */
export const MAX_HDF5_OBJECTS = 1_000_000;
/** Links of one group: bounds the memory of one listing. */
export const MAX_HDF5_LINKS_PER_GROUP = 1_000_000;
/** Links followed in one walk of the file (every path of every alias): a small file of hard links can name millions of paths. */
export const MAX_HDF5_LINKS_WALKED = 10_000_000;
/** Header messages of one object (all its continuation blocks together): bounds a header's walk. */
export const MAX_HDF5_HEADER_MESSAGES = 65_536;
/** Continuation blocks of one object header: a chain of continuations would be walked for ever. */
export const MAX_HDF5_CONTINUATIONS = 1024;
/** Bytes of one metadata block read at once (an object header block, a heap, a B-tree node): each claims its own size. */
export const MAX_HDF5_HEADER_BLOCK_BYTES = 64 * 1024 * 1024;
/** Objects walked in one global heap collection, or a local heap's names: bounds a heap's walk. */
export const MAX_HDF5_HEAP_OBJECTS = 1_048_576;
/** Depth of a B-tree (v1 group trees, v2 name indexes) and of a fractal heap's indirect blocks: bounds recursion. */
export const MAX_HDF5_BTREE_DEPTH = 32;
/** Records read from one B-tree (v1 group entries, v2 name or attribute records): bounds a tree's walk. */
export const MAX_HDF5_BTREE_RECORDS = 1_000_000;
/** Bytes of one attribute's value decoded (Keras's configs are KiB to a few MiB): bounds memory. */
export const MAX_HDF5_ATTRIBUTE_BYTES = 64 * 1024 * 1024;
/** Elements of one attribute decoded (an array of names): bounds the values made. */
export const MAX_HDF5_ATTRIBUTE_ELEMENTS = 1_000_000;
/** Attributes of one object: bounds the memory of one object's attributes. */
export const MAX_HDF5_ATTRIBUTES_PER_OBJECT = 65_536;
/** Groups nested in a path, and soft links followed to resolve one: bounds recursion and link chains. */
export const MAX_HDF5_PATH_DEPTH = 256;
/** Soft links resolved in one file (each resolution walks a path): bounds the work of many soft links. */
export const MAX_HDF5_SOFT_LINKS = 100_000;
/** Bytes of a file's datasets never written, read as their fill value: a KiB file can declare terabytes of such data, which a conversion would write out. */
export const MAX_HDF5_UNWRITTEN_BYTES = 1024 * 1024 * 1024;
/** Dimensions of a dataspace (HDF5 itself allows 32). */
export const MAX_HDF5_RANK = 32;
/** Bytes of a datatype message decoded (nested compound types): bounds recursion over a type. */
export const MAX_HDF5_DATATYPE_DEPTH = 16;
