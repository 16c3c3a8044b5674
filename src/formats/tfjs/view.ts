import type { FormatView, ViewRow } from '../format.js';
import { viewValue } from '../format.js';
import type { TfjsStructure } from './reader.js';

/** TF.js's own view for inspect: what the model.json says it is, its groups and shards, and quantized weights by kind. */
export function describeTfjs(s: TfjsStructure): FormatView {
  const m = s.manifest;
  const rows: ViewRow[] = [{ key: 'kind', value: m.kind }];
  if (m.generatedBy !== undefined) rows.push({ key: 'generatedBy', value: viewValue(m.generatedBy) });
  if (m.convertedBy !== undefined) rows.push({ key: 'convertedBy', value: viewValue(m.convertedBy) });
  rows.push({ key: 'groups', value: String(m.groups.length) });
  const bytes = s.shards.reduce((n, x) => n + x.size, 0);
  rows.push(m.embedded ? { key: 'weightData', value: `embedded, base64 (${bytes} bytes)` } : { key: 'shards', value: `${s.shards.length} (${bytes} bytes)` });
  const kinds = new Map<string, number>();
  for (const g of m.groups) for (const w of g.weights) {
    const k = w.quantization ? `${w.dtype} as ${w.quantization.dtype}` : w.dtype;
    kinds.set(k, (kinds.get(k) ?? 0) + 1);
  }
  const quantization: ViewRow[] = [...kinds].map(([key, n]) => ({ key, value: `${n} weight${n === 1 ? '' : 's'}` }));
  return [
    { title: 'TF.js', rows },
    { title: 'weights', rows: quantization },
  ];
}
