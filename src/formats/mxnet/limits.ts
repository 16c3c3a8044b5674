/** MXNet NDArray files' limits: bounds on what a list header makes the parse do. */

/** NDArrays in one file (a ResNet-152 has under 1,000): a count of billions would keep the walk busy. */
export const MAX_MXNET_ARRAYS = 1_048_576;
/** Dimensions of one NDArray (MXNet's own ops stop at 6; numpy's NPY_MAXDIMS is 64): each dimension is a counter of the densify walk. */
export const MAX_MXNET_DIMS = 64;
/** Bytes of one name (real ones are `arg:conv0_weight`, under 200): bounds the memory a length field can ask for. */
export const MAX_MXNET_NAME_BYTES = 65_536;
/** Bytes of a sparse array's indices held in memory to densify it: bounds what a row-sparse or CSR header makes the reader allocate. */
export const MAX_MXNET_SPARSE_INDEX_BYTES = 256 * 1024 * 1024;
/** Bytes a sparse array densifies to: a few bytes of header can declare a shape of terabytes of zeros. */
export const MAX_MXNET_DENSE_BYTES = 64 * 1024 * 1024 * 1024;
/** Dense bytes per stored byte of a sparse array, past 1 MiB: an embedding of few rows is sparse, a petabyte of zeros from a kilobyte file is an attack. */
export const MAX_MXNET_SPARSE_EXPANSION = 1024;
/** Bytes of one densified CSR row, built whole in memory (its non-zeros are scattered across it). */
export const MAX_MXNET_CSR_ROW_BYTES = 256 * 1024 * 1024;
