/**
 * Model files made in tests for the web page's tests: safetensors headers of any size (the data left
 * sparse on disk), and a PyTorch zip whose pickle would run `posix.system` when loaded (never loaded
 * here: only its bytes are written).
 */
import { closeSync, openSync, writeSync, ftruncateSync } from 'node:fs';
import type { Page } from 'playwright-core';
import { buildZip } from './zip-writer.js';

/** A pickle that calls posix.system('id') when unpickled: GLOBAL posix system, a tuple of one string, REDUCE. */
export const EVIL_PICKLE = Uint8Array.from(Buffer.from('\x80\x02cposix\nsystem\nX\x02\x00\x00\x00id\x85R.', 'latin1'));

/** A torch zip checkpoint (archive/data.pkl) holding EVIL_PICKLE. */
export function evilTorchZip(): Uint8Array {
  return buildZip([
    { name: 'archive/data.pkl', data: EVIL_PICKLE },
    { name: 'archive/byteorder', data: 'little' },
    { name: 'archive/version', data: '3\n' },
  ]);
}

/** The safetensors header (8-byte length + JSON) of `count` F32 tensors `layers.<i>.weight` of shape [rows, 4], laid end to end. */
export function manyTensorsHeader(count: number, rows = 4): { bytes: Uint8Array; dataBytes: number } {
  const parts: string[] = [];
  let offset = 0;
  for (let i = 0; i < count; i++) {
    const size = rows * 4 * 4;
    parts.push(`"layers.${i}.weight":{"dtype":"F32","shape":[${rows},4],"data_offsets":[${offset},${offset + size}]}`);
    offset += size;
  }
  return withLength(`{"__metadata__":{"format":"pt"},${parts.join(',')}}`, offset);
}

/** The header of one F32 tensor `big` of `bytes` bytes (a multiple of 4). */
export function oneBigTensorHeader(bytes: number): { bytes: Uint8Array; dataBytes: number } {
  return withLength(`{"big":{"dtype":"F32","shape":[${bytes / 4}],"data_offsets":[0,${bytes}]}}`, bytes);
}

function withLength(json: string, dataBytes: number): { bytes: Uint8Array; dataBytes: number } {
  const padded = json.padEnd(Math.ceil(json.length / 8) * 8, ' ');
  const text = new TextEncoder().encode(padded);
  const out = new Uint8Array(8 + text.byteLength);
  new DataView(out.buffer).setBigUint64(0, BigInt(text.byteLength), true);
  out.set(text, 8);
  return { bytes: out, dataBytes };
}

/** Bytes of tensor data written after a sparse file's header: as a real model's first bytes, not zeros. */
const WRITTEN_DATA_BYTES = 64 * 1024;

/**
 * Writes a header, the first WRITTEN_DATA_BYTES of its data (pseudo-random, as weights are), and
 * extends the file to its full size without writing the rest (a sparse file: no 5 GB written). The
 * written bytes matter: a scan reads the file as a pickle from byte 0 (a polyglot check), and a header
 * length whose low byte is a pickle opcode that reads a line (`P`, `I`, `S`, …) runs to the first
 * newline byte, which real weights hold within a few hundred bytes and zeros never do.
 */
export function writeSparse(file: string, header: { bytes: Uint8Array; dataBytes: number }): number {
  const fd = openSync(file, 'w');
  try {
    writeSync(fd, header.bytes);
    const data = new Uint8Array(Math.min(WRITTEN_DATA_BYTES, header.dataBytes));
    let x = 0x9e3779b9;
    for (let i = 0; i < data.length; i++) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      data[i] = x & 0xff;
    }
    writeSync(fd, data);
    const size = header.bytes.byteLength + header.dataBytes;
    ftruncateSync(fd, size);
    return size;
  } finally {
    closeSync(fd);
  }
}

/** Types a URL into the page's URL form and waits until a new card (or an error) is shown. */
export async function openUrlInPage(page: Page, url: string): Promise<void> {
  const before = await page.locator('.card, .cards > p.error').count();
  await page.locator('[data-testid=url-input]').fill(url);
  await page.locator('[data-testid=open-url]').click();
  await page.waitForFunction((n) => document.querySelectorAll('.card, .cards > p.error').length > n, before, { timeout: 60_000 });
}
