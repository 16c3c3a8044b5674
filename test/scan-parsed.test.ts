import { describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { MemorySource, type ByteSource } from '../src/io/byte-source.js';
import { formatById } from '../src/formats/registry.js';
import { scanSource } from '../src/scan/scan.js';
import { TORCH_FIXTURES, torchFixtures } from './helpers/torch-fixtures.js';

/**
 * ScanOptions.parsed: an open() of the same source, made by the format's reader, is what the scan rules
 * check instead of parsing again. The report is the same with it and without it; the bytes read are fewer.
 */

/** A source over the file's bytes that counts the bytes read. */
function counting(file: string): { source: ByteSource; bytes: () => number } {
  const inner = new MemorySource(new Uint8Array(fs.readFileSync(file)), file);
  let bytes = 0;
  return {
    source: { name: inner.name, size: inner.size, read: (o, l) => ((bytes += l), inner.read(o, l)) },
    bytes: () => bytes,
  };
}

const openable = torchFixtures().filter((f) => f.format !== 'index' && !f.file.startsWith('sharded/') && f.expected.expect_error === undefined);

describe('scan with parsed: the same report, no second parse', () => {
  it('there are fixtures of every torch container', () => {
    expect(new Set(openable.map((f) => f.format))).toEqual(new Set(['zip', 'legacy', 'tar', 'torchscript']));
  });

  it.each(openable.map((f) => f.file))('%s', async (file) => {
    const fixture = openable.find((f) => f.file === file)!;
    const full = path.join(TORCH_FIXTURES, file);
    const plain = counting(full);
    const without = await scanSource(plain.source);

    // Protocol 0 and 1 pickles have no signature: the format is named, not detected, here.
    const reader = await formatById('pytorch')!.load();
    const parsed = await reader.open!(new MemorySource(new Uint8Array(fs.readFileSync(full)), full), { skipUnknown: fixture.expected.needs_skip_unknown ?? false });
    const given = counting(full);
    const withParsed = await scanSource(given.source, { parsed });

    expect(withParsed).toEqual(without);
    // The checkpoint reader's second opinion reads the whole structure again (storages are located and size-checked): parsed spares it.
    expect(given.bytes()).toBeLessThan(plain.bytes());

    // A structure that is not a checkpoint (another format's) is not taken for one: the checkpoint is read.
    const other = counting(full);
    expect(await scanSource(other.source, { parsed: { tensors: parsed.tensors, structure: {} } })).toEqual(without);
    expect(other.bytes()).toBe(plain.bytes());
  });
});
