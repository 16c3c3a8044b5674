/** Limits of the XML parser: each bounds what a hostile document can make it do. */

/** Bytes of one XML document (real PMML files are KiB to tens of MiB): bounds the text held in memory. */
export const MAX_XML_BYTES = 256 << 20;
/** Nesting depth of elements (PMML nests a few dozen deep; MiningModel segments a few more): bounds the parse's stack. */
export const MAX_XML_DEPTH = 256;
/** Elements in one document (a neural network's Con elements: one per weight): bounds the tree's memory. */
export const MAX_XML_ELEMENTS = 4_000_000;
/** Attributes of one element (PMML's have at most a dozen): bounds the work per tag. */
export const MAX_XML_ATTRIBUTES = 256;
/** Characters of one element's text (an Array of a million numbers is ~20 MB): bounds one text node. */
export const MAX_XML_TEXT_CHARS = 64 << 20;
/** Characters of one element or attribute name: a hostile name could be megabytes long. */
export const MAX_XML_NAME_CHARS = 1024;
