import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { isTensorsafeError } from '../src/errors.js';
import type { Finding } from '../src/formats/findings.js';
import { detectSourceFormat, probeSource, formatsClaiming } from '../src/formats/registry.js';
import { pmmlReader } from '../src/formats/pmml/reader.js';
import { pfaReader } from '../src/formats/pfa/reader.js';
import { parseXml } from '../src/formats/xml/parser.js';
import { MAX_XML_ATTRIBUTES, MAX_XML_DEPTH } from '../src/formats/xml/limits.js';
import { MemorySource } from '../src/io/byte-source.js';
import { readEntry } from '../src/tensor/tensor-set.js';
import { convertModel } from '../src/node/convert.js';
import { scanFile } from '../src/node/scan-file.js';
import { tempDir } from './helpers/temp.js';
import { runCli } from './helpers/cli.js';

/**
 * The XML parser beneath PMML, one construct at a time; the hostile PMML and PFA documents (XXE, billion
 * laughs, YAML's !!python tags and alias bombs, external cell inits) refused by the readers with their
 * codes, judged by the scan, and refused by convert with nothing written; detection against the formats
 * that share their containers. (The documents' tensors, bit for bit: test/formats.test.ts.)
 */

const enc = (s: string) => new TextEncoder().encode(s);
const xml = (s: string) => parseXml(enc(s), 'doc.xml');

function codeOf(f: () => unknown): string {
  try {
    f();
    return 'parsed';
  } catch (e) {
    return isTensorsafeError(e) ? e.code : `not a TensorsafeError: ${String(e)}`;
  }
}

describe('the XML parser', () => {
  it('reads elements, attributes, text, CDATA, comments, processing instructions and references', () => {
    const doc = xml(`\uFEFF<?xml version="1.0" encoding="utf-8"?>\n<!-- c --><?pi x?><a:R xmlns:a="u" k='v &amp; &#x41;&#66;' t="a\tb\r\nc"><b>x &lt;&gt;&quot;&apos; <![CDATA[<raw>&amp;]]>y</b><c/><!-- in --><?x y?></a:R>\n<!-- after -->\n`);
    expect(doc.version).toBe('1.0');
    expect(doc.root.name).toBe('a:R');
    expect(doc.root.local).toBe('R');
    expect({ ...doc.root.attributes }).toEqual({ 'xmlns:a': 'u', k: 'v & AB', t: 'a b c' });
    expect(doc.root.children.map((c) => c.name)).toEqual(['b', 'c']);
    expect(doc.root.children[0]!.text).toBe('x <>"\' <raw>&amp;y');
    expect(doc.elements).toBe(3);
  });

  it('normalizes line ends in text as XML does', () => {
    expect(xml('<a>1\r\n2\r3</a>').root.text).toBe('1\n2\n3');
  });

  it('gives byte offsets in UTF-8, not characters', () => {
    const text = '<a>ééé</a><b/>';
    expect(() => xml(text)).toThrow(/byte 13/);
  });

  it.each([
    ['<!DOCTYPE a [<!ENTITY x SYSTEM "file:///etc/passwd">]><a>&x;</a>', 'XmlDoctypeRefused'],
    ['<?xml version="1.0"?><!DOCTYPE a><a/>', 'XmlDoctypeRefused'],
    ['<a><!ENTITY x "y"></a>', 'XmlEntityRefused'],
    ['<a>&x;</a>', 'XmlEntityRefused'],
    ['<a b="&x;"/>', 'XmlEntityRefused'],
    ['<?xml version="1.0" encoding="ISO-8859-1"?><a/>', 'XmlEncodingRefused'],
    ['<?xml version="1.0" encoding="UTF-16"?><a/>', 'XmlEncodingRefused'],
    ['<a>&#0;</a>', 'InvalidXml'],
    ['<a>&#xD800;</a>', 'InvalidXml'],
    ['<a>& b</a>', 'InvalidXml'],
    ['<a>&;</a>', 'InvalidXml'],
    ['<a></b>', 'InvalidXml'],
    ['<a>', 'InvalidXml'],
    ['<a/><b/>', 'InvalidXml'],
    ['text<a/>', 'InvalidXml'],
    ['<a/>text', 'InvalidXml'],
    ['', 'InvalidXml'],
    ['<a b="1" b="2"/>', 'InvalidXml'],
    ['<a b="<"/>', 'InvalidXml'],
    ['<a b=1/>', 'InvalidXml'],
    ['<a><!-- x -- y --></a>', 'InvalidXml'],
    ['<a><![CDATA[x</a>', 'InvalidXml'],
    ['<a>]]></a>', 'InvalidXml'],
    ['<a>\u0001</a>', 'InvalidXml'],
    ['<a/><?xml version="1.0"?>', 'InvalidXml'],
    ['<a><!FOO></a>', 'InvalidXml'],
  ])('%j: %s', (text, code) => {
    expect(codeOf(() => xml(text))).toBe(code);
  });

  it('refuses UTF-16 by its byte order mark, and bytes that are not UTF-8 by their offset', () => {
    expect(codeOf(() => parseXml(Uint8Array.of(0xff, 0xfe, 0x3c, 0, 0x61, 0), 'x'))).toBe('XmlEncodingRefused');
    expect(() => parseXml(Uint8Array.of(0x3c, 0x61, 0x3e, 0xc3, 0x28, 0x3c, 0x2f, 0x61, 0x3e), 'x')).toThrow(/byte 3 is not UTF-8/);
  });

  it('bounds depth and attributes by their named constants', () => {
    expect(codeOf(() => xml('<a>'.repeat(MAX_XML_DEPTH + 1) + '</a>'.repeat(MAX_XML_DEPTH + 1)))).toBe('XmlLimit');
    expect(codeOf(() => xml('<a>'.repeat(MAX_XML_DEPTH) + '</a>'.repeat(MAX_XML_DEPTH)))).toBe('parsed');
    const attrs = (n: number) => `<a ${Array.from({ length: n }, (_, i) => `k${i}="${i}"`).join(' ')}/>`;
    expect(codeOf(() => xml(attrs(MAX_XML_ATTRIBUTES + 1)))).toBe('XmlLimit');
    expect(codeOf(() => xml(attrs(MAX_XML_ATTRIBUTES)))).toBe('parsed');
  });

  it('parses a large document in linear time (no quadratic text or attribute handling)', () => {
    const cons = Array.from({ length: 200_000 }, (_, i) => `<Con from="${i}" weight="${i / 7}"/>`).join('\n');
    const started = Date.now();
    const doc = xml(`<N>${cons}</N>`);
    expect(doc.root.children.length).toBe(200_000);
    expect(Date.now() - started).toBeLessThan(5000);
  });
});

const HOSTILE = path.join(import.meta.dirname, 'fixtures', 'pmml-pfa-hostile');

interface Expected {
  format: string;
  error?: string;
  tensors?: { name: string }[];
}

describe('hostile PMML and PFA documents', () => {
  const files = fs.readdirSync(HOSTILE).filter((f) => !f.endsWith('.expected.json'));
  const scans: Record<string, { verdict: string; rules: string[] }> = {
    'xxe.pmml': { verdict: 'dangerous', rules: ['pmml/doctype'] },
    'billion-laughs.pmml': { verdict: 'dangerous', rules: ['pmml/doctype'] },
    'entity.pmml': { verdict: 'dangerous', rules: ['pmml/entity'] },
    'python-tag.pfa.yaml': { verdict: 'dangerous', rules: ['pfa/yaml-python-tag', 'pfa/malformed'] },
    'alias-bomb.pfa.yaml': { verdict: 'suspicious', rules: ['pfa/malformed'] },
    'external-init.pfa': { verdict: 'suspicious', rules: ['pfa/valid', 'pfa/external-init'] },
  };

  it('every hostile document has its expected outcome and its scan verdict here', () => {
    expect(files.sort()).toEqual(Object.keys(scans).sort());
  });

  for (const file of files) {
    it(`${file}: detected, refused (or read) by its reader with its code, judged by the scan, converted or refused with nothing written`, async () => {
      const expected = JSON.parse(fs.readFileSync(path.join(HOSTILE, `${file}.expected.json`), 'utf8')) as Expected;
      const bytes = new Uint8Array(fs.readFileSync(path.join(HOSTILE, file)));
      const source = new MemorySource(bytes, file);
      expect((await detectSourceFormat(source))?.id).toBe(expected.format);
      const reader = expected.format === 'pmml' ? pmmlReader : pfaReader;
      const outcome = await reader.open!(source).then(
        async (p) => {
          expect(p.tensors.tensors.map((t) => t.name)).toEqual(expected.tensors!.map((t) => t.name));
          return 'opened';
        },
        (e: unknown) => (isTensorsafeError(e) ? e.code : String(e)),
      );
      expect(outcome).toBe(expected.error ?? 'opened');
      const report = await scanFile(path.join(HOSTILE, file));
      expect(report.format).toBe(expected.format);
      expect(report.verdict).toBe(scans[file]!.verdict);
      expect(report.findings.map((f: Finding) => f.rule)).toEqual(scans[file]!.rules);
      const out = tempDir(`hostile-${file}`);
      const converting = convertModel(path.join(HOSTILE, file), { output: path.join(out, 'out.safetensors') });
      if (expected.error !== undefined) {
        await expect(converting).rejects.toMatchObject({ code: scans[file]!.verdict === 'dangerous' ? 'UnsafeFile' : expected.error });
        expect(fs.readdirSync(out)).toEqual([]);
      } else {
        expect((await converting).verified).toBe(true);
      }
    });
  }

  it('the DOCTYPE refusal names its byte offset', async () => {
    await expect(pmmlReader.open!(new MemorySource(new Uint8Array(fs.readFileSync(path.join(HOSTILE, 'xxe.pmml'))), 'xxe.pmml'))).rejects.toThrow(/xxe\.pmml: a DOCTYPE declaration is refused.*\(byte 22\)/);
  });
});

describe('PMML scan rules', () => {
  async function rules(text: string): Promise<string[]> {
    const found: Finding[] = [];
    await pmmlReader.scan!(new MemorySource(enc(text), 'x.pmml'), { file: 'x.pmml', dir: undefined, report: (f) => found.push(f), scanPickle: () => undefined });
    return found.map((f) => `${f.severity} ${f.rule}`);
  }

  it('reports Extensions, x- elements and attributes that name URLs, and TableLocators', async () => {
    expect(await rules('<PMML version="4.4"><Header><Extension name="src" value="https://evil.example/x"/></Header><DataDictionary x-src="file:/etc/passwd"/><x-Vendor><y>see http://a.example</y></x-Vendor><TableLocator/></PMML>')).toEqual([
      'info pmml/valid',
      'suspicious pmml/external-reference',
      'suspicious pmml/external-reference',
      'suspicious pmml/external-reference',
      'suspicious pmml/external-reference',
    ]);
  });

  it('does not report URLs outside vendor content (the namespace, copyright)', async () => {
    expect(await rules('<PMML xmlns="http://www.dmg.org/PMML-4_4" version="4.4"><Header copyright="http://x.example"/><Extension name="n" value="plain"/></PMML>')).toEqual(['info pmml/valid']);
  });

  it('an XInclude include names a file an XInclude-aware parser reads: an external reference', async () => {
    expect(await rules('<PMML xmlns:xi="http://www.w3.org/2001/XInclude"><Header><xi:include href="file:///etc/passwd" parse="text"/></Header></PMML>')).toEqual(['info pmml/valid', 'suspicious pmml/external-reference']);
  });

  it('a long run of word starts in vendor content is searched for URLs in linear time', async () => {
    const started = performance.now();
    expect(await rules(`<PMML><Extension name="x" value="${'a-'.repeat(100_000)}">${'a.'.repeat(100_000)}</Extension></PMML>`)).toEqual(['info pmml/valid']);
    expect(performance.now() - started).toBeLessThan(1000);
    expect(await rules(`<PMML><Extension>${'a-'.repeat(1000)} see https://example.com/x</Extension></PMML>`)).toEqual(['info pmml/valid', 'suspicious pmml/external-reference']);
  });

  it('calls a document that is not XML, or not PMML, malformed', async () => {
    expect(await rules('<PMML><a></PMML>')).toEqual(['suspicious pmml/malformed']);
    expect(await rules('<NotPmml/>')).toEqual(['suspicious pmml/malformed']);
  });
});

describe('PFA YAML mapping keys', () => {
  it('a mapping key that is a mapping or sequence is refused by name, with no process warning', async () => {
    const doc = enc('input: double\noutput: double\naction:\n  - {? {+: [input, 1]} : 2}\n');
    const warnings: unknown[] = [];
    const onWarning = (w: unknown) => void warnings.push(w);
    process.on('warning', onWarning);
    try {
      await expect(pfaReader.open!(new MemorySource(doc, 'k.pfa.yaml'))).rejects.toMatchObject({ code: 'InvalidPfa', message: expect.stringContaining('mapping key') });
      await new Promise((resolve) => setImmediate(resolve));
    } finally {
      process.off('warning', onWarning);
    }
    expect(warnings).toEqual([]);
  });
});

describe('detection', () => {
  async function claimed(text: string): Promise<string[]> {
    return formatsClaiming(await probeSource(new MemorySource(enc(text), 'x'))).map((f) => f.id);
  }

  it('PMML by its root element, prefixed or not, after a declaration, comments or a DOCTYPE naming it', async () => {
    expect(await claimed('<?xml version="1.0"?>\n<!-- c -->\n<PMML version="4.4"/>')).toEqual(['pmml']);
    expect(await claimed('<p:PMML xmlns:p="http://www.dmg.org/PMML-4_4"/>')).toEqual(['pmml']);
    expect(await claimed('<!DOCTYPE PMML [<!ENTITY x "y">]><PMML/>')).toEqual(['pmml']);
    expect(await claimed('<?xml version="1.0"?><svg/>')).toEqual([]);
    expect(await claimed('<html><body>PMML</body></html>')).toEqual([]);
  });

  it('XXE PMML hidden from the head: a DOCTYPE of another name, past a long comment, in UTF-16: dangerous, never safe text', async () => {
    const xxe = (doctypeName: string) => `<!DOCTYPE ${doctypeName} [<!ENTITY x SYSTEM "file:///etc/passwd">]>\n<PMML version="4.4"><Header description="&x;"/></PMML>\n`;
    const dir = tempDir('pmml-hidden-doctype');
    const docs: Record<string, Uint8Array> = {
      'other-name.pmml': enc(`<?xml version="1.0"?>\n${xxe('foo')}`),
      'long-comment.xml': enc(`<?xml version="1.0"?>\n<!--${'x'.repeat(4000)}-->\n${xxe('PMML')}`),
      'utf16le.pmml': new Uint8Array(Buffer.from(`\uFEFF<?xml version="1.0" encoding="UTF-16"?>\n${xxe('PMML')}`, 'utf16le')),
      'utf16-no-bom.pmml': new Uint8Array(Buffer.from(`<?xml version="1.0" encoding="UTF-16"?>\n${xxe('PMML')}`, 'utf16le')),
    };
    for (const [name, bytes] of Object.entries(docs)) {
      fs.writeFileSync(path.join(dir, name), bytes);
      const report = await scanFile(path.join(dir, name));
      expect({ name, verdict: report.verdict, rules: report.findings.map((f) => f.rule) }).toEqual({ name, verdict: 'dangerous', rules: ['pmml/doctype'] });
    }
    expect(await claimed(`<!--${'x'.repeat(1000)}-->\n<PMML version="4.4"/>`)).toEqual(['pmml']);
    // The text probe shows detectors MAX_DETECT_TEXT_BYTES (64 KiB): a comment that ends inside it is passed over;
    // one that runs past it may hide a PMML root and a DOCTYPE, and is claimed (then reported as malformed if not PMML).
    expect(await claimed(`<!--${'x'.repeat(1000)}-->\n<svg/>`)).toEqual([]);
    expect(await claimed(`<!--${'x'.repeat(70000)}-->\n<svg/>`)).toEqual(['pmml']);
    expect(await claimed('<!-- short -->\n<svg/>')).toEqual([]);
  });

  it('PFA by its input, output and action keys, in JSON or YAML; TF.js and other JSON are not PFA', async () => {
    expect(await claimed('{"input": "double", "output": "double", "action": ["input"]}')).toEqual(['pfa']);
    expect(await claimed('input: double\noutput: double\naction: [input]\n')).toEqual(['pfa']);
    expect(await claimed('{"input": "double", "output": "double"}')).toEqual([]);
    expect(await claimed('{"modelTopology": {}, "weightsManifest": []}')).toEqual(['tfjs']);
    expect(await claimed('name: x\nversion: 1\n')).toEqual([]);
  });

  it('past the first 512 bytes: YAML PFA whose input schema is long (as Hadrian\'s mapOnlyMapper.yaml), PMML after a long licence comment', async () => {
    const schema = `input:\n  type: record\n  name: Star\n  fields:\n${'    - {name: f, type: double, doc: "a field of the input record"}\n'.repeat(12)}`;
    expect(await claimed(`# a comment\n${schema}output: double\naction: [input.f]\n`)).toEqual(['pfa']);
    expect(await claimed(`${schema}other: 1\n`)).toEqual([]);
    const licence = `<!--\n${'Licensed under the Apache License, Version 2.0 (the "License").\n'.repeat(12)}-->\n`;
    expect(await claimed(`<?xml version="1.0" encoding="UTF-8"?>\n${licence}<PMML version="4.4"/>`)).toEqual(['pmml']);
    expect(await claimed(`<?xml version="1.0"?>\n${licence}<svg/>`)).toEqual([]);
  });
});

describe('PMML and PFA values', () => {
  it('a PMML number that is not xs:double is refused with the element and its byte', async () => {
    const text = '<PMML version="4.4"><NeuralNetwork><NeuralInputs><NeuralInput id="0"/></NeuralInputs><NeuralLayer><Neuron id="1" bias="Infinity"/></NeuralLayer></NeuralNetwork></PMML>';
    await expect(pmmlReader.open!(new MemorySource(enc(text), 'x.pmml'))).rejects.toThrow(/x\.pmml: <Neuron id="1"> \(byte 98\): attribute bias="Infinity" is not a number/);
  });

  it('a connection that skips a layer is refused by name', async () => {
    const text = '<PMML><NeuralNetwork><NeuralInputs><NeuralInput id="0"/></NeuralInputs><NeuralLayer><Neuron id="1"><Con from="0" weight="1"/></Neuron></NeuralLayer><NeuralLayer><Neuron id="2"><Con from="0" weight="1"/></Neuron></NeuralLayer></NeuralNetwork></PMML>';
    await expect(pmmlReader.open!(new MemorySource(enc(text), 'x.pmml'))).rejects.toMatchObject({ code: 'InvalidPmml', message: expect.stringMatching(/from="0" is not a neuron of the layer before/) });
  });

  it('a declared n that asks for more than the limit is refused before any allocation', async () => {
    const text = '<PMML><ClusteringModel><Cluster><REAL-SparseArray n="99999999999"/></Cluster></ClusteringModel></PMML>';
    await expect(pmmlReader.open!(new MemorySource(enc(text), 'x.pmml'))).rejects.toMatchObject({ code: 'PmmlLimit' });
  });

  it('a PFA cell that mixes numbers and strings is left out, with the reason', async () => {
    const text = '{"input":"double","output":"double","cells":{"m":{"type":"x","init":[1,"a"]},"n":{"type":"x","init":[[1],[2]]}},"action":["input"]}';
    const { tensors } = await pfaReader.open!(new MemorySource(enc(text), 'x.pfa'));
    expect(tensors.tensors.map((t) => [t.name, t.shape])).toEqual([['n', [2, 1]]]);
    expect(tensors.leftOut).toEqual([{ path: 'm', what: 'an array of shape [2] that mixes numbers with other values' }]);
    expect(Array.from(new Float64Array((await readEntry(tensors.tensors[0]!)).slice().buffer))).toEqual([1, 2]);
  });

  it('a ragged PFA array names the cell and the row', async () => {
    const text = '{"input":"double","output":"double","cells":{"w":{"type":"x","init":[[[1,2],[3,4]],[[5,6],[7]]]}},"action":["input"]}';
    await expect(pfaReader.open!(new MemorySource(enc(text), 'x.pfa'))).rejects.toThrow(/"w" is a ragged array: row \[1\]\[1\] has 1 elements where the first has 2/);
  });
});

describe('PMML at scale', () => {
  it('a scan of 100,000 Extension URLs takes linear time (byte offsets only for the findings listed)', async () => {
    const ext = Array.from({ length: 100_000 }, (_, i) => `<Extension name="e${i}" value="http://x.example/${i}"/>`).join('');
    const found: Finding[] = [];
    const started = Date.now();
    await pmmlReader.scan!(new MemorySource(enc(`<PMML version="4.4"><Header>${ext}</Header></PMML>`), 'x.pmml'), { file: 'x.pmml', dir: undefined, report: (f) => found.push(f), scanPickle: () => undefined });
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(found.filter((f) => f.rule === 'pmml/external-reference').length).toBe(51);
  });

  it('a distribution-based ClusteringModel (no centres) is listed, not refused', async () => {
    const text = '<PMML><ClusteringModel modelClass="distributionBased"><Cluster name="a"/></ClusteringModel><RegressionModel><RegressionTable intercept="1"/></RegressionModel></PMML>';
    const { tensors } = await pmmlReader.open!(new MemorySource(enc(text), 'x.pmml'));
    expect(tensors.leftOut).toEqual([{ path: 'ClusteringModel', what: '1 clusters with no centres (a distribution-based ClusteringModel)' }]);
  });
});

describe('the CLI on PMML and PFA', () => {
  const FIXTURES = path.join(import.meta.dirname, 'fixtures', 'formats');

  it.each([
    ['pmml', 'mining-model.pmml', 'MiningModel/segmentfirst/RegressionModel/table0/coefficients'],
    ['pfa', 'model.pfa.yaml', 'weights'],
  ])('%s: inspect, scan, convert and verify (%s)', async (id, file, tensor) => {
    const src = path.join(FIXTURES, id, file);
    const inspect = await runCli('inspect', '--json', src);
    expect(inspect.code).toBe(0);
    const shown = JSON.parse(inspect.stdout) as { format: string; tensors: { name: string; dtype: string }[]; view: { title: string }[] };
    expect(shown.format).toBe(id);
    expect(shown.tensors.map((t) => t.name)).toContain(tensor);
    expect(shown.view[0]!.title).toBe(id === 'pmml' ? 'PMML' : 'PFA');
    const scan = await runCli('scan', '--json', src);
    expect(scan.code).toBe(0);
    const out = path.join(tempDir(`cli-${id}`), 'out.safetensors');
    expect((await runCli('convert', src, '-o', out)).code).toBe(0);
    const verify = await runCli('verify', src, out);
    expect(verify.code).toBe(0);
  });

  it('a PMML document with a DOCTYPE: scan exits 1 (dangerous), convert exits 1 and writes nothing', async () => {
    const src = path.join(HOSTILE, 'xxe.pmml');
    expect((await runCli('scan', src)).code).toBe(1);
    const dir = tempDir('cli-xxe');
    expect((await runCli('convert', src, '-o', path.join(dir, 'out.safetensors'))).code).toBe(1);
    expect(fs.readdirSync(dir)).toEqual([]);
  });
});

describe('PFA YAML keys', () => {
  it('a key that is a sequence or mapping is InvalidPfa naming its byte, with no process warning (found by the fuzz on a random seed)', async () => {
    const { parsePfaText } = await import('../src/formats/pfa/document.js');
    const text = 'input: double\noutput: double\ncells:\n  ? [input, {cell: bias}]\n  : {type: double, init: 1}\naction: [input]\n';
    const e = (() => {
      try {
        parsePfaText(text, 'model.pfa.yaml');
      } catch (x) {
        return x;
      }
      return undefined;
    })();
    expect(isTensorsafeError(e) && [e.code, e.message]).toEqual(['InvalidPfa', `model.pfa.yaml: a YAML mapping key that is a mapping or sequence (byte ${text.indexOf('[')}): PFA's keys are strings`]);
  });
});
