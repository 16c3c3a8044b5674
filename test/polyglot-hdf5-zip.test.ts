import { describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { scanBytes } from '../src/scan/scan.js';
import { openHdf5 } from '../src/formats/hdf5/file.js';
import { MemorySource } from '../src/io/byte-source.js';
import { craft, entry } from './helpers/craft.js';
import { ROOT } from './helpers/paths.js';
import { buildZip, concat } from './helpers/zip-writer.js';

/**
 * Files that are two formats at once, where the second is what a Keras loader reads: the scan must
 * see what the loader sees, whatever format the first bytes claim.
 */

const fixture = (name: string): Uint8Array => new Uint8Array(fs.readFileSync(path.join(ROOT, 'test/fixtures/scan', name)));
const lambdaConfig = JSON.stringify({
  class_name: 'Sequential',
  config: { name: 's', layers: [{ class_name: 'Lambda', config: { name: 'l', function: ['YWJj', null, null], function_type: 'lambda' } }] },
});

describe('a Keras loader reads another format inside the file', () => {
  it('an HDF5 file with a .keras archive appended: Keras opens any .keras that is_zipfile accepts as the archive', async () => {
    const h5 = fs.readFileSync(path.join(ROOT, 'test/fixtures/formats/hdf5/types.h5'));
    const zip = buildZip([
      { name: 'config.json', data: lambdaConfig },
      { name: 'metadata.json', data: '{"keras_version": "3.0.0"}' },
      { name: 'model.weights.h5', data: '' },
    ]);
    const report = await scanBytes(concat([new Uint8Array(h5), zip]), 'poly.keras');
    expect(report.verdict).toBe('dangerous');
    expect(report.findings.map((f) => f.rule)).toEqual(expect.arrayContaining(['format/appended-zip', 'keras/lambda-layer']));
  });

  it('a safetensors file whose data holds an HDF5 file at byte 512: h5py reads the user block as padding', async () => {
    const h5 = fixture('keras2-lambda.h5');
    const header = `{"pad":${entry('U8', [h5.length], 0, h5.length)}}`.padEnd(512 - 8, ' ');
    const bytes = craft(header, h5.length);
    bytes.set(h5, 512);
    const report = await scanBytes(bytes, 'model.h5');
    expect(report.verdict).toBe('dangerous');
    expect(report.findings.map((f) => f.rule)).toEqual(expect.arrayContaining(['format/hdf5-user-block', 'keras/lambda-layer']));
  });

  it('an HDF5 file moved behind a user block reads as the HDF5 library reads it: addresses count from the signature, not the stored base', async () => {
    const h5 = fixture('keras2-lambda.h5');
    const moved = new Uint8Array(1024 + h5.length);
    moved.set(h5, 1024); // stored base address 0, signature at 1024
    const file = await openHdf5(new MemorySource(moved, 'moved.h5'));
    expect(typeof (await file.root.attributeValue('model_config'))).toBe('string');
    const report = await scanBytes(moved, 'moved.h5');
    expect(report.findings.map((f) => f.rule)).toContain('keras/lambda-layer');
  });
});
