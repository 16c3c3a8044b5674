// Writes GGUF v3 files for the benchmarks: tensors of random but valid ggml blocks (every f16 scale
// finite), generated at bench time and never committed. Random bytes are valid codes for the block
// types used here; only the scales need care (a NaN or infinite scale would make no realistic model).
import * as fs from 'node:fs';
import { randomFillSync } from 'node:crypto';

/** ggml type id, elements and bytes per block, and the byte offsets of f16 scales in a block. */
export const BENCH_TYPES = {
  F32: { id: 0, elements: 1, bytes: 4, scales: [] },
  F16: { id: 1, elements: 1, bytes: 2, scales: [] },
  Q8_0: { id: 8, elements: 32, bytes: 34, scales: [0] },
  Q4_K: { id: 12, elements: 256, bytes: 144, scales: [0, 2] },
  IQ4_XS: { id: 23, elements: 256, bytes: 136, scales: [0] },
};

/** Elements in a row of every benchmark tensor (GGUF's innermost dimension). */
const ROW = 4096;

/** A finite f16 code of magnitude between about 2^-9 and 2^-1, random sign. */
function scaleCode(r) {
  return ((r & 1) << 15) | (0x1800 + ((r >> 1) % 0x2000));
}

/**
 * Random blocks of `type`, `bytes` long (a whole number of blocks), with finite scales; F32 and F16
 * values are random finite numbers.
 */
function randomBlocks(type, bytes) {
  const b = new Uint8Array(bytes);
  randomFillSync(b);
  const dv = new DataView(b.buffer);
  if (type === BENCH_TYPES.F32) {
    for (let i = 0; i < bytes; i += 4) dv.setFloat32(i, (b[i] - 128) / 64, true);
  } else if (type === BENCH_TYPES.F16) {
    for (let i = 0; i < bytes; i += 2) dv.setUint16(i, scaleCode(dv.getUint16(i, true)), true);
  } else {
    for (let p = 0; p < bytes; p += type.bytes) for (const s of type.scales) dv.setUint16(p + s, scaleCode(dv.getUint16(p + s, true)), true);
  }
  return b;
}

/**
 * Writes a GGUF v3 file of tensors `layer.N.weight`, each `tensorElements` elements of the type given by
 * `typeOf(N)` (a name of BENCH_TYPES), until `outputBytes` of F32 output (what a conversion writes for
 * quantized tensors, and F32/F16 tensors as they are) are reached. Returns the tensor count.
 */
export function writeBenchGguf(file, { outputBytes, tensorElements = ROW * 1024, typeOf = () => 'Q8_0' }) {
  const count = Math.max(1, Math.round(outputBytes / (tensorElements * 4)));
  const tensors = [];
  let offset = 0;
  for (let i = 0; i < count; i++) {
    const type = BENCH_TYPES[typeOf(i)];
    const bytes = (tensorElements / type.elements) * type.bytes;
    tensors.push({ name: `layer.${i}.weight`, type, bytes, offset });
    offset += Math.ceil(bytes / 32) * 32;
  }
  const parts = [];
  const u32 = (v) => { const b = Buffer.alloc(4); b.writeUInt32LE(v); parts.push(b); };
  const u64 = (v) => { const b = Buffer.alloc(8); b.writeBigUInt64LE(BigInt(v)); parts.push(b); };
  const str = (s) => { const b = Buffer.from(s, 'utf8'); u64(b.length); parts.push(b); };
  parts.push(Buffer.from('GGUF', 'latin1'));
  u32(3);
  u64(tensors.length);
  u64(1);
  str('general.architecture');
  u32(8);
  str('llama');
  for (const t of tensors) {
    str(t.name);
    u32(2);
    u64(ROW);
    u64(tensorElements / ROW);
    u32(t.type.id);
    u64(t.offset);
  }
  let head = Buffer.concat(parts);
  head = Buffer.concat([head, Buffer.alloc((32 - (head.length % 32)) % 32)]);
  const fd = fs.openSync(file, 'w');
  try {
    fs.writeSync(fd, head);
    // One random template per type, reused for every tensor of that type: the page cache and the
    // decoder see the same work whether the bytes repeat or not.
    const templates = new Map();
    let at = head.length;
    for (const t of tensors) {
      if (!templates.has(t.type)) templates.set(t.type, randomBlocks(t.type, t.bytes));
      fs.writeSync(fd, templates.get(t.type), 0, t.bytes, at);
      at += Math.ceil(t.bytes / 32) * 32;
    }
  } finally {
    fs.closeSync(fd);
  }
  return count;
}
