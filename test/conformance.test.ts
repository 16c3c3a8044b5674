import { describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { FileSource } from '../src/node/file-source.js';
import { validateSource } from '../src/safetensors/validate.js';
import { HAVE_SHARED_CONFORMANCE, SHARED_CONFORMANCE } from './helpers/paths.js';

/**
 * The crafted files of ../shared/conformance/safetensors against the reference reader's verdicts (CI has
 * them; a clone with nothing beside it skips this file). The repository's own vectors are in
 * test/conformance-vectors.test.ts.
 */
const dir = SHARED_CONFORMANCE;
const rows = HAVE_SHARED_CONFORMANCE
  ? fs
      .readFileSync(path.join(dir, 'expected.tsv'), 'utf8')
      .trim()
      .split('\n')
      .slice(1)
      .map((line) => line.split('\t') as [string, string, string])
  : [];

describe.skipIf(!HAVE_SHARED_CONFORMANCE)('shared conformance vectors (reference verdicts)', () => {
  it('has the vectors', () => {
    expect(rows.length).toBeGreaterThan(60);
  });
  it.each(rows)('%s → %s %s', async (file, verdict, codeOrCount) => {
    const source = FileSource.openSync(path.join(dir, file));
    try {
      const result = await validateSource(source);
      if (verdict === 'OK') {
        expect(result.ok ? result.tensors : result.error).toBe(Number(codeOrCount));
      } else {
        expect(result.ok ? 'OK' : result.error.code).toBe(codeOrCount);
      }
    } finally {
      source.closeSync();
    }
  });
});
