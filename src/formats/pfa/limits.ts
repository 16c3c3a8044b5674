/** Limits of the PFA reader: each bounds what a hostile document can make it do. */

/** Bytes of one PFA document (real ones are KiB to tens of MiB: a forest's trees are cells): bounds the text held in memory. */
export const MAX_PFA_BYTES = 256 << 20;
/** Nesting of a cell's or pool's value walked for numbers (records of arrays of records…): bounds the walk's recursion. */
export const MAX_PFA_DEPTH = 64;
/** Tensors made from one document: bounds the set's size (a pool of a million scalars is a million tensors otherwise). */
export const MAX_PFA_TENSORS = 100_000;
/** Elements of one tensor: bounds one array's memory as float64. */
export const MAX_PFA_TENSOR_ELEMENTS = 1 << 26;
/** Aliases a YAML document may use (billion laughs: each alias of an alias doubles the value): bounds the expansion. */
export const MAX_PFA_YAML_ALIASES = 100;
/** Values listed as left out one by one (strings, booleans…); the rest are counted. */
export const MAX_PFA_LEFT_OUT = 1000;
