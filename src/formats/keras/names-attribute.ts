import { KerasError } from './errors.js';
import type { H5Group } from './h5-access.js';
import { MAX_KERAS_ATTRIBUTE_PARTS } from './limits.js';

/**
 * A list of names kept in an attribute as Keras's legacy format keeps it (legacy_h5_format.py
 * save_attributes_to_hdf5_group / load_attributes_from_hdf5_group): `layer_names` (or `weight_names`)
 * whole, or, when it was larger than an object header holds (64,512 bytes), split into `layer_names0`,
 * `layer_names1`, … read in order until one is missing. An empty list is written as an empty float64
 * array. Undefined when neither form is there.
 */
export async function readNamesAttribute(group: H5Group, attribute: string, file: string): Promise<string[] | undefined> {
  const whole = await group.attribute(attribute);
  if (whole !== undefined) return names(whole, `${file}: ${group.path} attribute ${attribute}`);
  const out: string[] = [];
  let part = 0;
  for (;;) {
    const value = await group.attribute(`${attribute}${part}`);
    if (value === undefined) break;
    if (part >= MAX_KERAS_ATTRIBUTE_PARTS) {
      throw new KerasError('KerasLimit', `${file}: ${group.path} has more than MAX_KERAS_ATTRIBUTE_PARTS (${MAX_KERAS_ATTRIBUTE_PARTS}) parts of ${attribute}`, { location: `${file}:${group.path}` });
    }
    out.push(...names(value, `${file}: ${group.path} attribute ${attribute}${part}`));
    part++;
  }
  return part === 0 ? undefined : out;
}

function names(value: unknown, where: string): string[] {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) {
    if (value.length === 0) return [];
    if (value.every((v) => typeof v === 'string')) return value as string[];
  }
  throw new KerasError('InvalidKeras', `${where} is not a list of names (${describe(value)})`, { location: where.replace(/: /, ':') });
}

function describe(value: unknown): string {
  if (Array.isArray(value)) return `an array of ${value.length} ${value.length > 0 ? typeof value[0] : ''} values`;
  return `a ${typeof value}`;
}
