// Writes a PyTorch zip checkpoint (the layout torch.save writes: <stem>/data.pkl with protocol 2,
// <stem>/data/<key> stored and 64-byte aligned, <stem>/version) of about `bytes` bytes, without torch.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ROOT } from './lib.js';

const { crc32 } = await import(path.join(ROOT, 'dist/formats/zip/crc32.js'));

const enc = new TextEncoder();
const u8 = (...xs) => Uint8Array.from(xs);
const u32 = (n) => u8(n & 255, (n >>> 8) & 255, (n >>> 16) & 255, (n >>> 24) & 255);
const u16 = (n) => u8(n & 255, (n >>> 8) & 255);
const binunicode = (s) => {
  const b = enc.encode(s);
  return [u8(0x58), u32(b.length), b];
};
const int = (n) => (n < 256 ? [u8(0x4b, n)] : n < 65536 ? [u8(0x4d), u16(n)] : [u8(0x4a), u32(n)]);

/** data.pkl of an OrderedDict of F32 tensors: name → (key, shape). */
function dataPkl(tensors) {
  const parts = [u8(0x80, 2), enc.encode('ccollections\nOrderedDict\nq\x00)R(')];
  for (const [name, key, shape] of tensors) {
    const numel = shape.reduce((a, b) => a * b, 1);
    parts.push(...binunicode(name), enc.encode('ctorch._utils\n_rebuild_tensor_v2\n(('));
    parts.push(...binunicode('storage'), enc.encode('ctorch\nFloatStorage\n'), ...binunicode(String(key)), ...binunicode('cpu'), ...int(numel), u8(0x74, 0x51));
    parts.push(u8(0x4b, 0), u8(0x28), ...shape.flatMap(int), u8(0x74), u8(0x28));
    const strides = shape.map((_, i) => shape.slice(i + 1).reduce((a, b) => a * b, 1));
    parts.push(...strides.flatMap(int), u8(0x74), u8(0x89), enc.encode('ccollections\nOrderedDict\n)R'), u8(0x74, 0x52));
  }
  parts.push(u8(0x75, 0x2e));
  return concat(parts);
}

function concat(parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Writes the checkpoint (4 MiB tensors, or `count` tensors sharing `bytes`); returns its tensor count. */
export function writeTorchCheckpoint(file, bytes, count = Math.max(1, Math.round(bytes / (4 << 20)))) {
  const stem = path.basename(file).replace(/\.[^.]+$/, '');
  const rows = Math.max(1, Math.floor(bytes / count / 4096));
  const tensors = Array.from({ length: count }, (_, i) => [`model.layers.${i}.weight`, i, [rows, 1024]]);
  const fd = fs.openSync(file, 'w');
  const central = [];
  let offset = 0;
  const write = (b) => {
    fs.writeSync(fd, b);
    offset += b.length;
  };
  const entry = (name, data) => {
    const nameBytes = enc.encode(`${stem}/${name}`);
    // Pad the extra field so that data starts 64-byte aligned, as torch does.
    const headerEnd = offset + 30 + nameBytes.length + 4;
    const pad = (64 - (headerEnd % 64)) % 64;
    const extra = concat([u16(0x4246), u16(pad), new Uint8Array(pad)]);
    const crc = data.crc ?? crc32(data);
    const size = data.length;
    central.push({ nameBytes, crc, size, offset });
    write(concat([u32(0x04034b50), u16(20), u16(0), u16(0), u16(0), u16(0), u32(crc), u32(size), u32(size), u16(nameBytes.length), u16(extra.length), nameBytes, extra]));
    if (data.write) data.write();
    else write(data);
  };
  entry('data.pkl', dataPkl(tensors));
  const block = new Float32Array(rows * 1024);
  for (let i = 0; i < block.length; i++) block[i] = Math.sin(i * 0.001);
  const blockBytes = new Uint8Array(block.buffer);
  const blockCrc = crc32(blockBytes);
  for (const [, key] of tensors) entry(`data/${key}`, { length: blockBytes.length, crc: blockCrc, write: () => write(blockBytes) });
  entry('version', enc.encode('3\n'));
  const cdStart = offset;
  for (const c of central) {
    write(concat([u32(0x02014b50), u16(20), u16(20), u16(0), u16(0), u16(0), u16(0), u32(c.crc), u32(c.size), u32(c.size), u16(c.nameBytes.length), u16(0), u16(0), u16(0), u16(0), u32(0), u32(c.offset), c.nameBytes]));
  }
  const cdSize = offset - cdStart;
  write(concat([u32(0x06054b50), u16(0), u16(0), u16(central.length), u16(central.length), u32(cdSize), u32(cdStart), u16(0)]));
  fs.closeSync(fd);
  return count;
}
