import type { FormatView } from '../format.js';
import { MXNET_DEVICES, MXNET_TYPES } from './dtype.js';
import type { MxnetFile } from './header.js';

/** Inspect's view of an MXNet NDArray list: versions, storage types, contexts and types of its arrays. */
export function describeMxnet(file: MxnetFile): FormatView {
  const count = (key: (a: MxnetFile['arrays'][number]) => string): { key: string; value: string }[] => {
    const m = new Map<string, number>();
    for (const a of file.arrays) m.set(key(a), (m.get(key(a)) ?? 0) + 1);
    return [...m].map(([k, n]) => ({ key: k, value: String(n) }));
  };
  const prefixes = count((a) => (file.names[a.index]?.match(/^(arg|aux):/)?.[1] ?? 'none'));
  return [
    {
      title: 'MXNet',
      rows: [
        { key: 'arrays', value: String(file.arrays.length) },
        { key: 'names', value: file.names.length ? String(file.names.length) : 'none (named 0, 1, … by position)' },
        ...(file.names.length ? [{ key: 'name prefixes', value: prefixes.map((p) => `${p.key}: ${p.value}`).join(', ') }] : []),
      ],
    },
    { title: 'versions', rows: count((a) => a.version) },
    { title: 'storage', rows: count((a) => (a.none !== undefined ? 'none (empty NDArray)' : a.storage)) },
    { title: 'types', rows: count((a) => (a.none !== undefined ? 'none' : MXNET_TYPES.get(a.typeFlag)![0])) },
    { title: 'contexts', rows: count((a) => (a.devType === undefined ? 'none' : `${MXNET_DEVICES.get(a.devType) ?? `device type ${a.devType}`}(${a.devId})`)) },
  ];
}
