import { VIEW_ARRAY_ITEMS, viewValue, type FormatView } from '../format.js';
import type { GgufHeader, GgufKeyValue, GgufValue } from './header.js';
import { float32Text } from '../../tensor/gguf-metadata.js';
import { MAX_GGUF_KEPT_ARRAY } from './limits.js';

/**
 * Inspect's view of a GGUF file, from the header the reader parsed: version, byte order, alignment;
 * every metadata key with its type and value (long arrays summarised: element type, length, the first
 * VIEW_ARRAY_ITEMS; long strings cut); the tensor types with their counts. The header parse walks past
 * arrays longer than MAX_GGUF_KEPT_ARRAY without keeping them (a vocabulary): those show their type and
 * length only, since the view never reads the file again.
 */
export function describeGguf(header: GgufHeader): FormatView {
  const types = new Map<string, number>();
  for (const t of header.tensors) types.set(t.typeName, (types.get(t.typeName) ?? 0) + 1);
  return [
    {
      title: 'GGUF',
      rows: [
        { key: 'version', value: String(header.version) },
        { key: 'byte order', value: header.littleEndian ? 'little-endian' : 'big-endian' },
        { key: 'alignment', value: String(header.alignment) },
        { key: 'key-value pairs', value: String(header.metadata.length) },
        { key: 'tensors', value: String(header.tensors.length) },
        { key: 'data', value: `bytes ${header.dataStart} to ${header.dataEnd}` },
      ],
    },
    { title: 'metadata', rows: header.metadata.map((kv) => ({ key: kv.key, value: viewValue(kvText(kv)) })) },
    { title: 'tensor types', rows: [...types].map(([type, n]) => ({ key: type, value: String(n) })) },
  ];
}

/** `UINT32 4096`, `STRING "llama"`, `ARRAY<STRING>[32000] "<unk>", "<s>", "</s>", …`. */
function kvText(kv: GgufKeyValue): string {
  if (kv.type === 'ARRAY') {
    const head = `ARRAY<${kv.elementType}>[${kv.length}]`;
    if (kv.value === undefined) return `${head} (elements not kept: more than ${MAX_GGUF_KEPT_ARRAY})`;
    const items = (kv.value as GgufValue[]).slice(0, VIEW_ARRAY_ITEMS).map((v) => valueText(v, kv.elementType));
    return `${head} ${items.join(', ')}${(kv.length ?? 0) > VIEW_ARRAY_ITEMS ? ', …' : ''}`;
  }
  if (kv.value === undefined) return `${kv.type} (${kv.length} bytes, not kept)`;
  return `${kv.type} ${valueText(kv.value, kv.type)}`;
}

/** A FLOAT32 as the shortest decimal of the float32 (`0.00001`, as convert writes it), not of the double it was widened to. */
function valueText(v: GgufValue, type: string | undefined): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.slice(0, VIEW_ARRAY_ITEMS).map((x) => valueText(x, undefined)).join(', ')}${v.length > VIEW_ARRAY_ITEMS ? ', …' : ''}]`;
  if (type === 'FLOAT32' && typeof v === 'number') return float32Text(v);
  return String(v);
}
