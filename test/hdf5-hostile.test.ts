import { describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { scanBytes } from '../src/scan/scan.js';
import { ROOT } from './helpers/paths.js';

/** Hostile HDF5 files (scripts/make-hdf5-hostile-fixtures.py): what h5py would read that the model does not hold. */

const HOSTILE = path.join(ROOT, 'test/fixtures/hdf5/hostile');
const hostile = (name: string): Uint8Array => new Uint8Array(fs.readFileSync(path.join(HOSTILE, name)));

describe('HDF5 data in other files', () => {
  it('external links, external raw storage and virtual datasets are suspicious, each named', async () => {
    const report = await scanBytes(hostile('external-data.h5'), 'external-data.h5');
    expect(report.verdict).toBe('suspicious');
    const external = report.findings.filter((f) => f.rule === 'hdf5/external-data');
    expect(external.map((f) => f.message.split(' ')[0])).toEqual(['/link', '/raw', '/vds']);
    expect(external[0]!.message).toContain('/etc/hostname');
  });
});

describe('data the file does not hold', () => {
  it.each(['fill-bomb-chunked.h5', 'fill-bomb-contiguous.h5', 'fill-bomb-partial.h5'])('%s: terabytes of fill value are refused by MAX_HDF5_UNWRITTEN_BYTES', async (name) => {
    const { hdf5Reader } = await import('../src/formats/hdf5/reader.js');
    const { MemorySource } = await import('../src/io/byte-source.js');
    await expect(hdf5Reader.open!(new MemorySource(hostile(name), name))).rejects.toMatchObject({ code: 'Hdf5Limit', message: expect.stringContaining('MAX_HDF5_UNWRITTEN_BYTES') });
  });
});

describe('damage found while the bytes stream', () => {
  it('a Fletcher-32 mismatch is a coded InvalidHdf5, not an internal error', async () => {
    const { hdf5Reader } = await import('../src/formats/hdf5/reader.js');
    const { MemorySource } = await import('../src/io/byte-source.js');
    const parsed = await hdf5Reader.open!(new MemorySource(hostile('fletcher32-damaged.h5'), 'f.h5'));
    const read = async (): Promise<void> => {
      for await (const piece of parsed.tensors.tensors[0]!.chunks()) void piece;
    };
    await expect(read()).rejects.toMatchObject({ code: 'InvalidHdf5', message: expect.stringContaining('Fletcher-32') });
  });
});

describe('attributes the scan cannot read', () => {
  it('dense root attributes in a filtered fractal heap are not "safe": the config Keras would load there is not scanned', async () => {
    const report = await scanBytes(hostile('dense-attributes-filtered-heap.h5'), 'f.h5');
    expect(report.verdict).toBe('suspicious');
    expect(report.findings.map((f) => f.rule)).toContain('hdf5/unread-attributes');
  });
});

describe('a .keras archive whose weights file reads other files', () => {
  it('external links in model.weights.h5 are suspicious', async () => {
    const { buildZip } = await import('./helpers/zip-writer.js');
    const archive = buildZip([
      { name: 'config.json', data: JSON.stringify({ class_name: 'Sequential', config: { name: 's', layers: [] } }) },
      { name: 'metadata.json', data: '{"keras_version": "3.0.0"}' },
      { name: 'model.weights.h5', data: hostile('external-data.h5') },
    ]);
    const report = await scanBytes(archive, 'm.keras');
    expect(report.verdict).toBe('suspicious');
    expect(report.findings.filter((f) => f.rule === 'hdf5/external-data').map((f) => f.message.split(' ')[0])).toEqual(['/link', '/raw', '/vds']);
  });
});

describe('a root that is not a group', () => {
  it('a superblock whose root entry points at a dataset: InvalidHdf5 on open, a finding from scan (was a TypeError in the external-data walk)', async () => {
    const { openHdf5, Hdf5Dataset } = await import('../src/formats/hdf5/file.js');
    const { MemorySource } = await import('../src/io/byte-source.js');
    const bytes = new Uint8Array(fs.readFileSync(path.join(ROOT, 'test/fixtures/formats/keras/keras2-model.h5')));
    const file = await openHdf5(new MemorySource(bytes, 'k.h5'));
    expect(file.superblock.version).toBe(0);
    const dataset = await file.get('/model_weights/dense_1/dense_1/kernel:0');
    expect(dataset).toBeInstanceOf(Hdf5Dataset);
    // Superblock v0 with 8-byte offsets: the root symbol table entry's object header address is at byte 64.
    const view = new DataView(bytes.buffer, bytes.byteOffset);
    expect(Number(view.getBigUint64(64, true))).toBe(file.root.address);
    view.setBigUint64(64, BigInt(dataset!.address), true);
    await expect(openHdf5(new MemorySource(bytes, 'k.h5'))).rejects.toMatchObject({ code: 'InvalidHdf5', message: expect.stringContaining('not a group') });
    const report = await scanBytes(bytes, 'k.h5');
    expect(report.verdict).not.toBe('safe');
    expect(report.findings.some((f) => f.rule === 'hdf5/malformed')).toBe(true);
  });
});

describe('a user block', () => {
  it("h5py's own user block (zeros) is info, the HDF5 file scanned; another format's bytes before the signature stay suspicious", async () => {
    const plain = await scanBytes(new Uint8Array(fs.readFileSync(path.join(ROOT, 'test/fixtures/hdf5/userblock-512.h5'))), 'u.h5');
    const finding = plain.findings.find((f) => f.rule === 'format/hdf5-user-block')!;
    expect(finding.severity).toBe('info');
    expect(plain.verdict).toBe('safe');
    const h5 = new Uint8Array(fs.readFileSync(path.join(ROOT, 'test/fixtures/hdf5/userblock-512.h5')));
    // The same file with a safetensors header in its user block: two formats at once.
    const header = new TextEncoder().encode('{"__metadata__":{"a":"b"}}');
    const dual = h5.slice();
    dual.fill(0x20, 0, 512);
    new DataView(dual.buffer).setBigUint64(0, BigInt(504), true);
    dual.set(header, 8);
    const report = await scanBytes(dual, 'u.h5');
    expect(report.findings.find((f) => f.rule === 'format/hdf5-user-block')!.severity).toBe('suspicious');
  });
});
