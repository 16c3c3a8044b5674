/** Limits of the PMML reader (the XML beneath it has its own, src/formats/xml/limits.ts): each bounds what a hostile document can make it do. */

/** Models read in one document, nested segments included (real ensembles: hundreds to a few thousand trees): bounds the walk. */
export const MAX_PMML_MODELS = 100_000;
/** MiningModels nested in segments (real ones: two or three): bounds the recursion. */
export const MAX_PMML_SEGMENT_DEPTH = 32;
/** Elements of one tensor (an Array, a densified sparse array, a weight matrix, the support vectors): bounds the memory a declared `n` can ask for. */
export const MAX_PMML_TENSOR_ELEMENTS = 1 << 26;
/** Bytes of labels (field names, neuron ids) kept in the metadata of one document: bounds the output's header. */
export const MAX_PMML_LABEL_BYTES = 1 << 20;
