import { describe, expect, it, vi } from 'vitest';
import type { FormatDescriptor } from '../src/formats/format.js';
import type { ScanReport } from '../src/formats/findings.js';

/**
 * A format added to the registry cannot turn a dangerous file safe (issue 10's review): whatever format
 * claims a file, whatever container its bytes are (text, unknown bytes, JSON), what `pickle.load` would
 * run from byte 0 is analysed, and reported once. The registry is wrapped to hold one more format,
 * `fake`, which claims any text, unknown or JSON bytes holding `FAKEFMT` and has scan rules of its own
 * that find every such file valid: before, its rules were the only reading of the file.
 */
const fake = vi.hoisted(() => ({
  descriptor: {
    id: 'fake',
    name: 'Fake (.fake)',
    extensions: ['.fake'],
    detect: (probe) =>
      (probe.container === 'text' || probe.container === 'unknown' || probe.container === 'json') && new TextDecoder('latin1').decode(probe.head).includes('FAKEFMT'),
    load: async () => ({
      scan: async (source, ctx) => {
        ctx.report({ severity: 'info', rule: 'fake/valid', message: 'a valid fake file', location: source.name });
      },
    }),
  } satisfies FormatDescriptor as FormatDescriptor,
}));
vi.mock('../src/formats/registry.js', async (importOriginal) => {
  const real = await importOriginal<typeof import('../src/formats/registry.js')>();
  return {
    ...real,
    FORMATS: Object.freeze([...real.FORMATS, fake.descriptor]),
    formatsClaiming: (probe: Parameters<typeof real.formatsClaiming>[0]) => [...real.formatsClaiming(probe), ...(fake.descriptor.detect(probe) ? [fake.descriptor] : [])],
  };
});
const { scanBytes } = await import('../src/scan/scan.js');
const { toSarif } = await import('../src/scan/sarif.js');

const P = (...parts: (string | number[])[]): Uint8Array => Uint8Array.from(parts.flatMap((p) => (typeof p === 'string' ? [...Buffer.from(p, 'latin1')] : p)));
/** A protocol-0 pickle that calls os.system (text), then the fake format's mark. */
const TEXT_EVIL = P("cposix\nsystem\n(S'touch /tmp/x'\ntR.FAKEFMT-rest-of-file\n");
/** The same call with a BINUNICODE argument: NUL bytes, so not text (the `unknown` container). */
const BINARY_EVIL = P('cposix\nsystem\nX', [2, 0, 0, 0], 'id', [0x85], 'R.FAKEFMT', [0, 1, 2]);
const count = (r: ScanReport, rule: string): number => r.findings.filter((f) => f.rule === rule).length;

describe('a registered format that claims text or unknown bytes', () => {
  it('a text file it claims that pickle.load would run is dangerous, and names the format', async () => {
    const r = await scanBytes(TEXT_EVIL, 'm.fake');
    expect(r.format).toBe('fake');
    expect(r.verdict).toBe('dangerous');
    const polyglot = r.findings.find((f) => f.rule === 'pickle/polyglot');
    expect(polyglot?.severity).toBe('dangerous');
    expect(polyglot?.message).toMatch(/^a file read as Fake \(\.fake\) that is also a pickle/);
    expect(count(r, 'pickle/dangerous-global')).toBe(1);
    expect(count(r, 'fake/valid')).toBe(1);
  });

  it('so is a binary file it claims (not text: the unknown container)', async () => {
    const r = await scanBytes(BINARY_EVIL, 'm.fake');
    expect(r.format).toBe('fake');
    expect(r.verdict).toBe('dangerous');
    expect(count(r, 'pickle/polyglot')).toBe(1);
    expect(count(r, 'pickle/dangerous-global')).toBe(1);
  });

  it('a file no format claims is read as a pickle once, with no polyglot finding', async () => {
    for (const bytes of [TEXT_EVIL, BINARY_EVIL]) {
      const unclaimed = bytes.map((b) => (b === 0x46 /* F of FAKEFMT */ ? 0x47 : b));
      const r = await scanBytes(unclaimed, 'm.bin');
      expect(r.verdict).toBe('dangerous');
      expect(count(r, 'pickle/dangerous-global')).toBe(1);
      expect(count(r, 'pickle/polyglot')).toBe(0);
    }
  });

  it('a file it claims that no pickle loader would run anything in is its format, safe', async () => {
    for (const text of ['FAKEFMT a plain fake file\n', '{"FAKEFMT": true}']) {
      const r = await scanBytes(P(text), 'm.fake');
      expect([text, r.format, r.verdict, r.findings.map((f) => f.rule)]).toEqual([text, 'fake', 'safe', ['fake/valid']]);
    }
  });

  it('SARIF describes a rule no one listed by its first finding, and the formats’ rules by their descriptors', () => {
    const report: ScanReport = {
      file: 'm.fake',
      format: 'fake',
      verdict: 'dangerous',
      findings: [
        { severity: 'suspicious', rule: 'fake/odd', message: 'an odd fake file', location: 'm.fake' },
        { severity: 'suspicious', rule: 'fake/odd', message: 'another odd thing', location: 'm.fake@3' },
        { severity: 'dangerous', rule: 'keras/lambda-layer', message: 'a Lambda layer', location: 'm.fake' },
        { severity: 'dangerous', rule: 'pickle/dangerous-global', message: 'os.system', location: 'm.fake@0' },
      ],
    };
    const sarif = toSarif([report], '0.0.0') as { runs: { tool: { driver: { rules: { id: string; shortDescription: { text: string } }[] } }; results: { ruleId: string; ruleIndex: number }[] }[] };
    const run = sarif.runs[0]!;
    const text = Object.fromEntries(run.tool.driver.rules.map((r) => [r.id, r.shortDescription.text]));
    expect(text).toEqual({
      'fake/odd': 'an odd fake file',
      'keras/lambda-layer': 'A Keras Lambda layer holds Python code that runs when the model is loaded',
      'pickle/dangerous-global': 'A pickle imports a function that runs code or touches the system when the file is loaded',
    });
    expect(run.results).toHaveLength(4);
    for (const r of run.results) expect(run.tool.driver.rules[r.ruleIndex]!.id).toBe(r.ruleId);
  });
});
