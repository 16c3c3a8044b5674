import { describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import { FileSource } from '../src/node/file-source.js';
import { validateSource } from '../src/safetensors/validate.js';
import { load } from '../src/safetensors/load.js';
import { SafetensorError } from '../src/errors.js';
import { ROOT } from './helpers/paths.js';

/**
 * The repository's own conformance vectors (test/fixtures/conformance), written by
 * scripts/make-conformance-vectors.mjs from the reference reader's documented rules, with the verdict
 * the reference gives (or tensorsafe's, where it deliberately differs: the rule says so).
 */
const DIR = path.join(ROOT, 'test', 'fixtures', 'conformance');
const SCRIPT = path.join(ROOT, 'scripts', 'make-conformance-vectors.mjs');
const rows = fs
  .readFileSync(path.join(DIR, 'expected.tsv'), 'utf8')
  .trim()
  .split('\n')
  .slice(1)
  .map((line) => line.split('\t') as [string, 'OK' | 'ERR', string, string]);

/** What the reader says of the bytes: the tensor count or the error code. */
function verdictOf(bytes: Uint8Array): string {
  try {
    return String(load(bytes).size);
  } catch (e) {
    if (e instanceof SafetensorError) return e.code;
    throw e;
  }
}

describe('own conformance vectors', () => {
  it('are the output of scripts/make-conformance-vectors.mjs, byte for byte', () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tensorsafe-vectors-'));
    try {
      execFileSync(process.execPath, [SCRIPT, tmp], { stdio: 'pipe' });
      const made = fs.readdirSync(tmp).sort();
      expect(made).toEqual(fs.readdirSync(DIR).sort());
      for (const f of made) expect([f, Buffer.compare(fs.readFileSync(path.join(tmp, f)), fs.readFileSync(path.join(DIR, f)))]).toEqual([f, 0]);
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });

  it('cover every error of the reference reader, and valid files', () => {
    const codes = new Set(rows.filter((r) => r[1] === 'ERR').map((r) => r[2]));
    for (const code of ['HeaderTooSmall', 'HeaderTooLarge', 'InvalidHeaderLength', 'InvalidHeader', 'InvalidHeaderDeserialization', 'InvalidOffset', 'TensorInvalidInfo', 'MisalignedSlice', 'ValidationOverflow', 'MetadataIncompleteBuffer']) {
      expect([code, codes.has(code)]).toEqual([code, true]);
    }
    expect(rows.filter((r) => r[1] === 'OK').length).toBeGreaterThan(30);
    expect(rows.length).toBeGreaterThan(90);
  });

  it.each(rows)('%s → %s %s', async (file, verdict, codeOrCount) => {
    const bytes = new Uint8Array(fs.readFileSync(path.join(DIR, file)));
    // In memory (load) and from a file (validateSource, which reads the header then checks the size).
    expect(verdictOf(bytes)).toBe(codeOrCount);
    const source = FileSource.openSync(path.join(DIR, file));
    try {
      const result = await validateSource(source);
      expect(result.ok ? String(result.tensors) : result.error.code).toBe(codeOrCount);
      expect(result.ok ? 'OK' : 'ERR').toBe(verdict);
    } finally {
      source.closeSync();
    }
  });
});
