import { describe, expect, it } from 'vitest';
import { BoundedSource } from './helpers/assertions.js';
import fc from 'fast-check';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { analyzePickles } from '../src/scan/pickle-analysis.js';
import { scanSource } from '../src/scan/scan.js';
import { TORCH_FIXTURES } from './helpers/torch-fixtures.js';

/**
 * The scanner never crashes: mutated checkpoints and random opcode soup give a report (findings),
 * never an exception, never a read outside the file.
 */

const seeds = ['dtypes_zip.pt', 'strides_legacy.pt', 'tar_format.pt', 'torchscript_module.pt', 'protocol4_zip.pt', 'bare_pickle.pkl'].map(
  (f) => new Uint8Array(fs.readFileSync(path.join(TORCH_FIXTURES, f))),
);

describe('scanner fuzz', () => {
  it('mutated checkpoints always give a report', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: seeds.length - 1 }), fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 }), async (which, edits) => {
        const bytes = seeds[which]!.slice();
        for (const [at, v] of edits) bytes[at % bytes.length] = v;
        const report = await scanSource(new BoundedSource(bytes));
        expect(['safe', 'suspicious', 'dangerous']).toContain(report.verdict);
      }),
      { numRuns: 1000 },
    );
  });

  it('random opcode soup never throws', () => {
    const op = fc.oneof(
      fc.constantFrom(...'(.0123FIJKLMNPQRSTUVXabcdeghijlopqrstu}])G'.split('').map((c) => c.charCodeAt(0)), 0x80, 0x81, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8a, 0x8c, 0x8f, 0x90, 0x91, 0x93, 0x94, 0x95),
      fc.integer({ min: 0, max: 255 }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 120 }), (program) => {
        analyzePickles(Uint8Array.from(program), { where: 'soup', report: () => undefined });
      }),
      { numRuns: 20000 },
    );
  });
});
