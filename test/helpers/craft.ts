/** Builds safetensors bytes by hand: an 8-byte length, the header text as given, then data. */
export function craft(header: string | Uint8Array, dataLength = 0, options: { declaredLength?: bigint; fill?: number } = {}): Uint8Array {
  const json = typeof header === 'string' ? new TextEncoder().encode(header) : header;
  const out = new Uint8Array(8 + json.byteLength + dataLength);
  new DataView(out.buffer).setBigUint64(0, options.declaredLength ?? BigInt(json.byteLength), true);
  out.set(json, 8);
  out.fill(options.fill ?? 0, 8 + json.byteLength);
  return out;
}

/** A tensor entry's JSON. */
export function entry(dtype: string, shape: (number | bigint | string)[], begin: number | bigint | string, end: number | bigint | string): string {
  return `{"dtype":"${dtype}","shape":[${shape.join(',')}],"data_offsets":[${begin},${end}]}`;
}
