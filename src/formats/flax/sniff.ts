/**
 * Whether the first bytes are a Flax checkpoint's: a msgpack map with a string first key, whose bytes
 * walk as msgpack up to a Flax array extension (code 1 or 3, its payload a 3-item array). A light walk
 * of the head only (`size`: the file's), for detection: the reader parses the file itself (msgpack.ts).
 */
export function looksLikeFlax(head: Uint8Array, size: number): boolean {
  const b0 = head[0];
  if (b0 === undefined || !((b0 > 0x80 && b0 <= 0x8f) || b0 === 0xde || b0 === 0xdf)) return false;
  const key = head[b0 === 0xde ? 3 : b0 === 0xdf ? 5 : 1];
  if (key === undefined || !((key >= 0xa0 && key <= 0xbf) || key === 0xd9 || key === 0xda || key === 0xdb)) return false;
  const dv = new DataView(head.buffer, head.byteOffset, head.byteLength);
  // Items still to walk; the walk ends at the end of the head (a prefix of the file).
  let pos = 0;
  let pending = 1;
  while (pending > 0 && pos < head.length) {
    pending--;
    const t = head[pos]!;
    const len = (n: number): number => (pos + 1 + n <= head.length ? (n === 1 ? head[pos + 1]! : n === 2 ? dv.getUint16(pos + 1) : dv.getUint32(pos + 1)) : -1);
    if (t <= 0x7f || t >= 0xe0 || t === 0xc0 || t === 0xc2 || t === 0xc3) pos += 1;
    else if (t <= 0x8f) (pending += 2 * (t & 0x0f)), (pos += 1);
    else if (t <= 0x9f) (pending += t & 0x0f), (pos += 1);
    else if (t <= 0xbf) pos += 1 + (t & 0x1f);
    else if (t === 0xc1) return false;
    else if (t >= 0xc4 && t <= 0xc6) {
      const n = 1 << (t - 0xc4);
      const l = len(n);
      if (l < 0) return false;
      pos += 1 + n + l;
    } else if ((t >= 0xc7 && t <= 0xc9) || (t >= 0xd4 && t <= 0xd8)) {
      const n = t <= 0xc9 ? 1 << (t - 0xc7) : 0;
      const l = t <= 0xc9 ? len(n) : 1 << (t - 0xd4);
      if (l < 0 || pos + 1 + n >= head.length) return false;
      const code = head[pos + 1 + n]!;
      // An array extension whose payload fits in the file.
      if ((code === 1 || code === 3) && head[pos + 2 + n] === 0x93) return pos + 2 + n + l <= size;
      pos += 2 + n + l;
    } else if (t === 0xca || t === 0xcb) pos += t === 0xca ? 5 : 9;
    else if (t >= 0xcc && t <= 0xd3) pos += 1 + (1 << ((t - 0xcc) & 3));
    else if (t >= 0xd9 && t <= 0xdb) {
      const n = 1 << (t - 0xd9);
      const l = len(n);
      if (l < 0) return false;
      pos += 1 + n + l;
    } else {
      // 0xdc–0xdf: array16/32, map16/32
      const n = t === 0xdc || t === 0xde ? 2 : 4;
      const l = len(n);
      if (l < 0) return false;
      pending += t >= 0xde ? 2 * l : l;
      pos += 1 + n;
    }
  }
  return false;
}
