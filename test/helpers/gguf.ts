/** A GGUF v3 of string key-value pairs and one F32 tensor (`tensor`, of one element, 1.5), for metadata tests. */
export function smallGguf(kvs: [string, string | Buffer][], tensor = 't'): Buffer {
  const u32 = (v: number): Buffer => {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(v);
    return b;
  };
  const u64 = (v: number): Buffer => {
    const b = Buffer.alloc(8);
    b.writeBigUInt64LE(BigInt(v));
    return b;
  };
  const str = (s: string | Buffer): Buffer => Buffer.concat([u64(Buffer.byteLength(s)), Buffer.from(s)]);
  const parts = [Buffer.from('GGUF'), u32(3), u64(1), u64(kvs.length)];
  for (const [k, v] of kvs) parts.push(str(k), u32(8), str(v));
  parts.push(str(tensor), u32(1), u64(1), u32(0), u64(0));
  let head = Buffer.concat(parts);
  head = Buffer.concat([head, Buffer.alloc((32 - (head.length % 32)) % 32)]);
  return Buffer.concat([head, Buffer.from(new Float32Array([1.5]).buffer)]);
}
