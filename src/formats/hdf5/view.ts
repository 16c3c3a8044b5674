import type { TensorSet } from '../../tensor/tensor-set.js';
import { VIEW_ARRAY_ITEMS, viewValue, type FormatView } from '../format.js';
import type { Hdf5Attribute } from './attributes.js';
import type { Hdf5Structure } from './reader.js';

/**
 * Inspect's view of an HDF5 file: superblock version, sizes of offsets and lengths, user block, groups
 * and datasets walked, storage layouts and filters seen, and the root group's attributes (shortened).
 */
export function describeHdf5(s: Hdf5Structure, tensors: TensorSet): FormatView {
  const sb = s.file.superblock;
  const layouts = [...s.layouts].map(([k, n]) => `${k} ${n}`).join(', ');
  return [
    {
      title: 'HDF5',
      rows: [
        { key: 'superblock version', value: String(sb.version) },
        { key: 'sizes of offsets, lengths', value: `${sb.geometry.offsetSize}, ${sb.geometry.lengthSize} bytes` },
        ...(sb.signatureAt > 0 ? [{ key: 'user block', value: `${sb.signatureAt} bytes` }] : []),
        { key: 'groups', value: String(s.groups) },
        { key: 'datasets', value: `${s.datasets}${tensors.leftOut.length > 0 ? ` (and ${tensors.leftOut.length} ${tensors.leftOut.length === 1 ? 'path' : 'paths'} left out: not tensors)` : ''}` },
        { key: 'layouts', value: layouts === '' ? 'none' : layouts },
        { key: 'filters', value: s.filters.size === 0 ? 'none' : [...s.filters].join(', ') },
      ],
    },
    ...(s.rootAttributes.length > 0 ? [{ title: 'root attributes', rows: s.rootAttributes.map((a) => ({ key: a.name, value: showAttribute(a) })) }] : []),
  ];
}

/** An attribute's value for people: a string, a number, or the first VIEW_ARRAY_ITEMS of an array. */
export function showAttribute(a: Hdf5Attribute): string {
  const v = a.value;
  if (v === undefined) return a.why ? `(${a.why})` : '(empty)';
  const one = (x: unknown): string => (typeof x === 'string' ? JSON.stringify(x) : String(x));
  if (!Array.isArray(v)) return viewValue(one(v));
  const items = (v as readonly unknown[]).slice(0, VIEW_ARRAY_ITEMS).map(one).join(', ');
  return viewValue(`[${items}${v.length > VIEW_ARRAY_ITEMS ? `, … (${v.length} in all)` : ''}]`);
}
