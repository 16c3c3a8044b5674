import { describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { scanBytes } from '../src/scan/scan.js';
import { convertCheckpoint } from '../src/node/convert.js';
import { classifyGlobal, normalizeGlobal } from '../src/formats/pickle/allowlist.js';
import { ROOT } from './helpers/paths.js';
import { tempDir } from './helpers/temp.js';
// @ts-expect-error: a plain ES module of the test corpus (no types)
import { adversarialCases } from './fixtures/adversarial/cases.mjs';

/**
 * The adversarial corpus (test/fixtures/adversarial/cases.mjs): for every class of the red-team pass, files
 * that pickle.load or torch.load would use to run a command. None may be called safe, every scan must end
 * with a verdict, and convert must refuse them with nothing written. Sizes are a tenth of the issue's
 * (bench/scan.js runs the full ones).
 */
interface Case {
  klass: string;
  name: string;
  bytes: Uint8Array;
  expect: 'dangerous' | 'not-safe' | 'bounded';
}
const cases = (adversarialCases as (scale: number) => Case[])(0.1);

describe('adversarial corpus: nothing is called safe', () => {
  it.each(cases.map((c) => [c.klass, c.name, c] as const))('%s: %s', async (_k, _n, c) => {
    const report = await scanBytes(c.bytes, c.name);
    expect(report.verdict).not.toBe('error');
    if (c.expect === 'dangerous') expect([c.name, report.verdict]).toEqual([c.name, 'dangerous']);
    else if (c.expect === 'not-safe') expect(['dangerous', 'suspicious']).toContain(report.verdict);
  });
});

describe('adversarial corpus: convert refuses, with nothing written and nothing run', () => {
  const dir = tempDir('adversarial');
  it.each(cases.filter((c) => c.expect !== 'bounded').map((c) => [c.name, c] as const))('%s', async (_n, c) => {
    const folder = fs.mkdtempSync(path.join(dir, 'case-'));
    const file = path.join(folder, c.name);
    fs.writeFileSync(file, c.bytes);
    await expect(convertCheckpoint(file)).rejects.toMatchObject({ code: expect.any(String) });
    expect(fs.readdirSync(folder)).toEqual([c.name]);
  });
});

// What CPython itself reaches in the bare pickles: the oracle records every find_class and returns an inert
// stub, so nothing is imported or run. It proves the "dangerous" expectations are real, not assumed.
const python = spawnSync('python3', ['-c', 'import pickle'], { encoding: 'utf8' }).status === 0;
describe.skipIf(!python)('adversarial corpus: CPython reaches a dangerous name in each bare pickle (oracle, nothing imported)', () => {
  it('every bare pickle expected dangerous makes CPython (C or pure-Python unpickler) look up a dangerous global', () => {
    const dir = tempDir('oracle');
    const bare = cases.filter((c) => c.expect === 'dangerous' && /\.(pkl|bin)$/.test(c.name) && !/stacked|memoize|memoized|distinct/.test(c.name));
    for (const c of bare) fs.writeFileSync(path.join(dir, c.name), c.bytes);
    const r = spawnSync('python3', [path.join(ROOT, 'test/fixtures/adversarial/cpython-oracle.py'), ...bare.map((c) => path.join(dir, c.name))], { encoding: 'utf8', maxBuffer: 1 << 26 });
    expect(r.status).toBe(0);
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { file: string; c: { globals: [string, string][] }; python: { globals: [string, string][] } });
    expect(lines).toHaveLength(bare.length);
    for (const line of lines) {
      const reached = [...line.c.globals, ...line.python.globals].map(([m, n]) => classifyGlobal(...normalizeGlobal(m, n)));
      expect([path.basename(line.file), reached.includes('dangerous')]).toEqual([path.basename(line.file), true]);
    }
  });
});
