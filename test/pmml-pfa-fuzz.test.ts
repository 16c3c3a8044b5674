import * as fs from 'node:fs';
import * as path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TensorsafeError } from '../src/errors.js';
import type { Finding } from '../src/formats/findings.js';
import type { FormatReader } from '../src/formats/format.js';
import { pfaReader } from '../src/formats/pfa/reader.js';
import { pmmlReader } from '../src/formats/pmml/reader.js';
import { parseXml } from '../src/formats/xml/parser.js';
import { BoundedSource } from './helpers/assertions.js';
import { exerciseReader, mutationOutcomes } from './helpers/fuzz.js';

/**
 * Fuzzing the XML parser, the PMML reader and the PFA reader (JSON and YAML): mutated fixtures, truncated
 * ones, mutated digits and markup characters, and random XML-like and JSON text either parse (a TensorSet
 * whose every tensor streams exactly its byteLength), or fail with a coded TensorsafeError: never another
 * exception, a hang or a read outside the file. Their scans report findings and never throw.
 */

const PMML_DIR = path.join(import.meta.dirname, 'fixtures', 'formats', 'pmml');
const PFA_DIR = path.join(import.meta.dirname, 'fixtures', 'formats', 'pfa');
const seeds = (dir: string, ends: string[]) => fs.readdirSync(dir).filter((f) => ends.some((e) => f.endsWith(e))).map((f) => new Uint8Array(fs.readFileSync(path.join(dir, f))));
const PMML_SEEDS = seeds(PMML_DIR, ['.pmml']);
const PFA_SEEDS = seeds(PFA_DIR, ['.pfa', '.yaml']);

const CASE_MS = 5000;

async function exercise(reader: FormatReader, bytes: Uint8Array, name: string): Promise<string> {
  const outcome = await exerciseReader(reader, bytes, name, { maxChunk: true, caseMs: CASE_MS });
  const found: Finding[] = [];
  await reader.scan!(new BoundedSource(bytes, name), { file: name, dir: undefined, report: (f) => found.push(f), scanPickle: () => undefined });
  for (const f of found) expect(f.rule).toMatch(/^(pmml|pfa)\//);
  return outcome;
}

const pmml = (b: Uint8Array) => exercise(pmmlReader, b, 'model.pmml');
const pfa = (b: Uint8Array) => exercise(pfaReader, b, 'model.pfa');

/** A case that changes characters XML and JSON give meaning to (`<`, `>`, `"`, `&`, `/`, digits, `[`), where mutations find the parsers' edges fastest. */
async function markupOutcomes(seedList: readonly Uint8Array[], run: (b: Uint8Array) => Promise<string>, numRuns: number): Promise<Map<string, number>> {
  const outcomes = new Map<string, number>();
  const specials = [...'<>"\'&/=;#![]{}:,-.0123456789 \nxE'].map((c) => c.charCodeAt(0));
  await fc.assert(
    fc.asyncProperty(fc.integer({ min: 0, max: seedList.length - 1 }), fc.array(fc.tuple(fc.nat(), fc.nat()), { minLength: 1, maxLength: 4 }), async (i, edits) => {
      const b = seedList[i]!.slice();
      const at = [...b.keys()].filter((k) => specials.includes(b[k]!));
      for (const [k, v] of edits) b[at[k % at.length]!] = specials[v % specials.length]!;
      const o = await run(b);
      outcomes.set(o, (outcomes.get(o) ?? 0) + 1);
    }),
    { numRuns },
  );
  return outcomes;
}

describe('PMML fuzz', () => {
  it('every seed opens', async () => {
    for (const s of PMML_SEEDS) {
      const o = await pmml(s);
      expect(['opened', 'InvalidPmml', 'NoTensors', 'XmlEncodingRefused']).toContain(o);
    }
  });

  it('mutated bytes: a TensorSet that streams its byte lengths, or a coded error', async () => {
    const outcomes = await mutationOutcomes(PMML_SEEDS, pmml, 1500);
    expect(outcomes.get('opened') ?? 0).toBeGreaterThan(0);
    expect(outcomes.get('InvalidXml') ?? 0).toBeGreaterThan(0);
  }, 120_000);

  it('mutated markup and digits', async () => {
    const outcomes = await markupOutcomes(PMML_SEEDS, pmml, 1500);
    expect(outcomes.get('InvalidXml') ?? 0).toBeGreaterThan(0);
    expect(outcomes.get('InvalidPmml') ?? 0).toBeGreaterThan(0);
  }, 120_000);

  it('truncated documents', async () => {
    for (const s of PMML_SEEDS) for (let n = 0; n < s.length; n += Math.max(1, Math.floor(s.length / 60))) expect(await pmml(s.subarray(0, n))).not.toBe('opened');
  }, 60_000);

  it('random XML-like text: the parser gives a tree or a coded error', () => {
    const piece = fc.constantFrom('<a>', '</a>', '<b x="1"/>', '<!--c-->', '<![CDATA[<]]>', '&amp;', '&#65;', '&x;', '<?p?>', '<!DOCTYPE a>', 'text', ' ', '\n', '"', '<', '>', '&', ']]>', '<a b="1" b="2">', '\u00e9', '\ud83d\ude00');
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 40 }), (parts) => {
        try {
          parseXml(new TextEncoder().encode(parts.join('')), 'x.xml');
        } catch (e) {
          if (!(e instanceof TensorsafeError) || !e.code || !e.message) throw e;
        }
      }),
      { numRuns: 3000 },
    );
  });

  it('random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (b) => {
        try {
          parseXml(b, 'x.xml');
        } catch (e) {
          if (!(e instanceof TensorsafeError) || !e.code) throw e;
        }
      }),
      { numRuns: 2000 },
    );
  });
});

describe('PFA fuzz', () => {
  it('every seed opens', async () => {
    for (const s of PFA_SEEDS) expect(['opened', 'PfaRaggedArray', 'NoTensors']).toContain(await pfa(s));
  });

  it('mutated bytes, JSON and YAML', async () => {
    const outcomes = await mutationOutcomes(PFA_SEEDS, pfa, 1500);
    expect(outcomes.get('opened') ?? 0).toBeGreaterThan(0);
    expect(outcomes.get('InvalidPfa') ?? 0).toBeGreaterThan(0);
  }, 120_000);

  it('mutated structure and digits', async () => {
    const outcomes = await markupOutcomes(PFA_SEEDS, pfa, 1500);
    expect(outcomes.get('InvalidPfa') ?? 0).toBeGreaterThan(0);
  }, 120_000);

  it('truncated documents', async () => {
    for (const s of PFA_SEEDS) for (let n = 0; n < s.length; n += Math.max(1, Math.floor(s.length / 60))) await pfa(s.subarray(0, n));
  }, 60_000);

  it('random JSON as a cell', async () => {
    await fc.assert(
      fc.asyncProperty(fc.jsonValue({ maxDepth: 6 }), async (v) => {
        const doc = JSON.stringify({ input: 'double', output: 'double', cells: { c: { type: 'x', init: v } }, pools: { p: { type: 'x', init: { k: v } } }, action: ['input'] });
        expect(['opened', 'NoTensors', 'PfaRaggedArray', 'InvalidPfa']).toContain(await pfa(new TextEncoder().encode(doc)));
      }),
      { numRuns: 1000 },
    );
  }, 60_000);
});
