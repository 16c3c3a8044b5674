import type { FormatView } from '../format.js';
import type { NpyHeader } from './header.js';
import type { NumpyStructure } from './reader.js';

/** How a descr's first character reads. */
const BYTE_ORDERS: Readonly<Record<string, string>> = { '<': 'little-endian', '>': 'big-endian', '|': 'not applicable', '=': 'native' };

/**
 * Inspect's view of a .npy file or an .npz archive, from the headers the reader parsed: for each array
 * its dtype as written (with its byte order), its order (C or Fortran), its shape and the .npy format
 * version.
 */
export function describeNumpy(structure: NumpyStructure): FormatView {
  return [
    { title: 'NumPy', rows: [{ key: 'container', value: structure.container === 'npy' ? '.npy (one array)' : '.npz (a zip of .npy arrays)' }, { key: 'arrays', value: String(structure.arrays.length) }] },
    { title: 'arrays', rows: structure.arrays.map((a) => ({ key: a.member ?? a.name, value: arrayText(a.header) })) },
  ];
}

/** `<f4 (little-endian), C order, shape [2, 3], format 1.0`. */
function arrayText(h: NpyHeader): string {
  const order = BYTE_ORDERS[h.descr[0] ?? ''];
  return `${h.descr}${order ? ` (${order})` : ''}, ${h.fortranOrder ? 'Fortran' : 'C'} order, shape [${h.shape.join(', ')}], format ${h.version}`;
}
