import { describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { scanBytes } from '../src/scan/scan.js';
import { scanFile } from '../src/node/scan-file.js';
import { convertCheckpoint } from '../src/node/convert.js';
import type { ScanReport } from '../src/formats/findings.js';
import { buildZip } from './helpers/zip-writer.js';
import { runCli } from './helpers/cli.js';
import { TORCH_FIXTURES, torchFixtures } from './helpers/torch-fixtures.js';
import { CORPUS, formatsCorpus, HAVE_CORPUS, pickleCorpus } from './helpers/corpus.js';
import { ROOT } from './helpers/paths.js';
import { tempDir } from './helpers/temp.js';

const tmp = tempDir('scan');
const rules = (r: ScanReport): string[] => [...new Set(r.findings.map((f) => f.rule))].sort();
const P = (...parts: (string | number[] | Uint8Array)[]): Uint8Array =>
  Uint8Array.from(parts.flatMap((p) => (typeof p === 'string' ? [...Buffer.from(p, 'latin1')] : [...p])));
const EVIL = P([0x80, 2], 'cposix\nsystem\nX\x02\x00\x00\x00id\x85R.');
const BENIGN = P([0x80, 2], ']q\x00(K\x01K\x02e.');

describe('scan: PyTorch fixtures written by torch', () => {
  const fixtures = torchFixtures().filter((f) => f.format !== 'index');
  it.each(fixtures.map((f) => [f.file, f] as const))('%s', async (_f, fixture) => {
    const r = await scanFile(path.join(TORCH_FIXTURES, fixture.file));
    if (fixture.format === 'torchscript') {
      expect(r.verdict).toBe('suspicious');
      expect(rules(r)).toEqual(['torchscript/code']);
    } else if (fixture.expected.needs_skip_unknown) {
      expect(r.verdict).toBe('suspicious');
      expect(rules(r)).toEqual(['pickle/unknown-global']);
      expect(r.findings[0]!.message).toMatch(/__main__\.RunConfig/);
    } else if (/protocol0/.test(fixture.file)) {
      // torch itself cannot load these (text persistent ids): inconsistent, never dangerous.
      expect(r.verdict).not.toBe('dangerous');
    } else {
      expect([r.verdict, r.findings]).toEqual(['safe', []]);
    }
    expect(r.format).toBe({ zip: 'pytorch-zip', legacy: 'pytorch-legacy', tar: 'pytorch-tar', torchscript: 'torchscript', pickle: 'pickle' }[fixture.format]);
  });

  it('pickles written by CPython (all protocols) are safe', async () => {
    const dir = path.join(ROOT, 'test/fixtures/pickle');
    for (const f of fs.readdirSync(dir).filter((n) => n.endsWith('.pkl'))) {
      const r = await scanFile(path.join(dir, f));
      expect([f, r.verdict, r.findings]).toEqual([f, 'safe', []]);
    }
  });
});

describe('scan: container tricks', () => {
  it('a pickle in a zip under a non-pickle name is found by its content', async () => {
    const r = await scanBytes(buildZip([{ name: 'model/data.txt', data: EVIL }]), 'x.zip');
    expect(r.verdict).toBe('dangerous');
    expect(r.findings.find((f) => f.rule === 'pickle/dangerous-global')!.location).toMatch(/^x\.zip:model\/data\.txt@/);
  });

  it('local and central names that differ, duplicate names: every entry is scanned', async () => {
    const mismatch = await scanBytes(buildZip([{ name: 'data.pkl', localName: 'datap.kl', data: EVIL }]), 'm.zip');
    expect(mismatch.verdict).toBe('dangerous');
    expect(rules(mismatch)).toContain('zip/name-mismatch');
    const dup = await scanBytes(buildZip([{ name: 'a/data.pkl', data: EVIL }, { name: 'a/data.pkl', data: BENIGN }]), 'd.zip');
    expect(dup.verdict).toBe('dangerous');
    expect(rules(dup)).toContain('zip/duplicate-name');
  });

  it('odd flag bits and encrypted entries are findings; the bytes are still read as torch reads them', async () => {
    for (const flags of [0x1, 0x20, 0x40]) {
      const r = await scanBytes(buildZip([{ name: 'model/config.pkl', data: EVIL, flags }]), 'f.zip');
      expect([flags, r.verdict]).toEqual([flags, 'dangerous']);
    }
    const benign = await scanBytes(buildZip([{ name: 'notes.txt', data: 'hello', flags: 0x1 }]), 'e.zip');
    expect(benign.verdict).toBe('suspicious');
    expect(rules(benign)).toContain('zip/encrypted');
  });

  it('a bad CRC on a pickle entry is a finding', async () => {
    const r = await scanBytes(buildZip([{ name: 'archive/data.pkl', data: BENIGN, crc: 1234 }]), 'c.zip');
    expect(rules(r)).toContain('zip/bad-crc');
  });

  it('polyglots: a pickle with a zip appended, and a zip with a pickle prepended', async () => {
    const zip = buildZip([{ name: 'data.pkl', data: BENIGN }]);
    const pickleFirst = await scanBytes(P(EVIL, zip), 'p.pkl');
    expect(pickleFirst.verdict).toBe('dangerous');
    const zipWithPrefix = await scanBytes(buildZip([{ name: 'data.pkl', data: BENIGN }], { prefix: EVIL }), 'z.pt');
    expect(zipWithPrefix.verdict).toBe('dangerous');
    expect(rules(zipWithPrefix)).toContain('pickle/trailing-data');
    const appended = await scanBytes(P(BENIGN, new Uint8Array(100).fill(7)), 'a.pkl');
    expect(rules(appended)).toContain('pickle/trailing-data');
  });

  it('a plain pickle named .bin is scanned as a pickle', async () => {
    const file = path.join(tmp, 'model.bin');
    fs.writeFileSync(file, EVIL);
    expect((await scanFile(file)).verdict).toBe('dangerous');
  });

  it('archives that cannot be checked and files that are no model', async () => {
    expect((await scanBytes(P('7z\xbc\xaf\x27\x1c', new Uint8Array(30)), 'x.7z')).verdict).toBe('suspicious');
    const png = await scanBytes(P('\x89PNG\r\n\x1a\n', new Uint8Array(20)), 'x.pt');
    expect([png.verdict, png.format]).toEqual(['safe', 'png']);
  });
});

describe('scan CLI', () => {
  const safe = path.join(TORCH_FIXTURES, 'tied_zip.pt');
  const evil = path.join(tmp, 'evil.pkl');
  fs.writeFileSync(evil, EVIL);

  it('--json: one line per file; exit 1 when any is not safe', async () => {
    const r = await runCli('scan', '--json', safe, evil);
    expect(r.code).toBe(1);
    const [a, b] = r.lines.map((l) => JSON.parse(l));
    expect(a).toEqual({ file: safe, format: 'pytorch-zip', verdict: 'safe', findings: [] });
    expect(b).toMatchObject({ file: evil, format: 'pickle', verdict: 'dangerous', findings: [{ severity: 'dangerous', rule: 'pickle/dangerous-global' }] });
    expect(b.findings[0].message).toMatch(/posix\.system/);
  });

  it('exit 0 when all are safe; 2 on usage errors, 3 on files that cannot be read', async () => {
    expect((await runCli('scan', safe)).code).toBe(0);
    expect((await runCli('scan')).code).toBe(2);
    expect((await runCli('scan', '--json', '--sarif', safe)).code).toBe(2);
    expect((await runCli('scan', path.join(tmp, 'missing.pt'))).code).toBe(3);
  });

  it('--sarif: SARIF 2.1.0 with rules and results', async () => {
    const r = await runCli('scan', '--sarif', safe, evil);
    const sarif = JSON.parse(r.stdout);
    expect(sarif.version).toBe('2.1.0');
    const run = sarif.runs[0];
    expect(run.tool.driver.name).toBe('tensorsafe');
    expect(run.tool.driver.rules.map((x: { id: string }) => x.id)).toContain('pickle/dangerous-global');
    expect(run.results).toHaveLength(1);
    expect(run.results[0]).toMatchObject({ ruleId: 'pickle/dangerous-global', level: 'error' });
    expect(run.results[0].locations[0].physicalLocation.artifactLocation.uri).toMatch(/evil\.pkl$/);
    expect(run.artifacts).toHaveLength(2);
  });

  it('folders are scanned recursively, with a summary', async () => {
    const dir = fs.mkdtempSync(path.join(tmp, 'dir-'));
    fs.mkdirSync(path.join(dir, 'sub'));
    fs.copyFileSync(safe, path.join(dir, 'sub', 'a.pt'));
    fs.copyFileSync(evil, path.join(dir, 'b.pkl'));
    const r = await runCli('scan', dir);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/2 files: 1 safe, 0 suspicious, 1 dangerous/);
  });
});

describe('convert runs the scan first', () => {
  it('a dangerous input is refused before any tensor is read, and nothing is written', async () => {
    const dir = fs.mkdtempSync(path.join(tmp, 'conv-'));
    const file = path.join(dir, 'model.pt');
    // A real torch checkpoint with a payload in a second pickle appended: torch.load never reads it,
    // but the file is a polyglot that other loaders would run.
    fs.writeFileSync(file, P(EVIL, fs.readFileSync(path.join(TORCH_FIXTURES, 'tied_zip.pt'))));
    await expect(convertCheckpoint(file)).rejects.toMatchObject({ code: 'UnsafeFile', message: expect.stringMatching(/posix\.system/) });
    expect(fs.readdirSync(dir)).toEqual(['model.pt']);
  });
});

describe.skipIf(!HAVE_CORPUS)('scan: the shared corpus', () => {
  const malicious = [...pickleCorpus().filter((r) => r.label === 'malicious'), ...formatsCorpus().filter((r) => r.label === 'malicious')];
  const benignPickles = pickleCorpus().filter((r) => r.label === 'benign');
  const benignTorch = formatsCorpus('pytorch').filter((r) => r.label === 'benign');

  it.each(malicious.map((r) => [r.file, r] as const))('malicious %s is dangerous or suspicious', async (_f, row) => {
    const r = await scanFile(row.path);
    expect(['dangerous', 'suspicious']).toContain(r.verdict);
  });
  it.each(benignPickles.map((r) => [r.file, r] as const))('benign %s is not dangerous', async (_f, row) => {
    expect((await scanFile(row.path)).verdict).not.toBe('dangerous');
  });
  it.each(benignTorch.map((r) => [r.file, r] as const))('benign PyTorch checkpoint %s is safe', async (_f, row) => {
    const r = await scanFile(row.path);
    expect([r.verdict, r.findings.filter((f) => f.severity !== 'info')]).toEqual(['safe', []]);
  });
  void CORPUS;
});
