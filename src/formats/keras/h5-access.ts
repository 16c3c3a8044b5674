import type { ByteSource } from '../../io/byte-source.js';
import type { TensorEntry } from '../../tensor/tensor-set.js';
import type { Hdf5Attribute } from '../hdf5/attributes.js';

/**
 * What the Keras reader needs of an HDF5 file: groups to walk, attributes to read, datasets as tensors.
 * formats/hdf5 provides it (h5-open.ts adapts its reader); the Keras layouts (legacy-layout.ts,
 * v3-layout.ts) are written against this alone.
 */

/** An attribute's value as the Keras layouts read it: strings (fixed or variable length), numbers, or an empty array. */
export type H5AttributeValue = string | readonly string[] | number | bigint | readonly (number | bigint)[];

export interface H5Dataset {
  /** Absolute path (`/model_weights/dense/dense/kernel:0`). */
  readonly path: string;
  readonly shape: readonly number[];
  /** The dataset as a tensor named `name`; `as` overrides the element type (`BF16` for Keras 3's bfloat16, stored as 2-byte opaque). */
  tensor(name: string, as?: 'BF16'): Promise<TensorEntry>;
  attribute(name: string): Promise<H5AttributeValue | undefined>;
}

export interface H5Group {
  /** Absolute path (`/` for the root). */
  readonly path: string;
  /** Its links in the file's order (`kind` of what each leads to). */
  links(): Promise<readonly { readonly name: string; readonly kind: 'group' | 'dataset' | 'other' }[]>;
  /** The group at a path relative to this one (`a/b`), or undefined when there is none. */
  group(path: string): Promise<H5Group | undefined>;
  /** The dataset at a path relative to this one, or undefined when there is none. */
  dataset(path: string): Promise<H5Dataset | undefined>;
  attribute(name: string): Promise<H5AttributeValue | undefined>;
  attributeNames(): Promise<readonly string[]>;
}

export interface H5File {
  readonly root: H5Group;
  /** The root group's attributes as formats/hdf5 decodes them, for its scan rules (the same parse). */
  rootAttributes(): Promise<readonly Hdf5Attribute[]>;
  readonly source: ByteSource;
  close(): Promise<void>;
}
