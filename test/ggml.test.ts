import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatById } from '../src/formats/registry.js';
import { MemorySource } from '../src/io/byte-source.js';
import { scanSource } from '../src/scan/scan.js';
import { runCli } from './helpers/cli.js';
import { tempDir } from './helpers/temp.js';

/**
 * Legacy GGML files through the doors a user takes: scan (the registry's format, its rules, the same
 * findings with or without an earlier parse), convert (the hparams in the source's metadata, the
 * vocabulary listed as left out), verify against what was written, and the refusals' messages. The tensors
 * themselves are checked by test/formats.test.ts against the fixtures' expected values.
 */

const DIR = path.join(import.meta.dirname, 'fixtures', 'formats', 'ggml');
const bytesOf = (f: string): Uint8Array => new Uint8Array(fs.readFileSync(path.join(DIR, f)));

describe('legacy GGML files', () => {
  it('scan: a valid file is safe, data only; with an earlier parse the report is the same', async () => {
    for (const f of ['ggjt-v3-f16.bin', 'ggjt-v1-f16.bin', 'ggmf-v1-f16.bin', 'ggml-unversioned-f16.bin']) {
      const report = await scanSource(new MemorySource(bytesOf(f), f));
      expect([f, report.format, report.verdict, report.findings.map((x) => x.rule)]).toEqual([f, 'ggml', 'safe', ['ggml/valid']]);
      const reader = await formatById('ggml')!.load();
      const parsed = await reader.open!(new MemorySource(bytesOf(f), f));
      expect(await scanSource(new MemorySource(bytesOf(f), f), { parsed })).toEqual(report);
      // Another format's structure is not taken for this one's.
      expect(await scanSource(new MemorySource(bytesOf(f), f), { parsed: { tensors: parsed.tensors, structure: {} } })).toEqual(report);
    }
  });

  it('scan: a file that is not the llama layout, or truncated, is suspicious and says why', async () => {
    for (const f of ['refused-gptj-layout.bin', 'truncated.bin']) {
      const report = await scanSource(new MemorySource(bytesOf(f), f));
      expect(report.verdict).toBe('suspicious');
      expect(report.findings[0]).toMatchObject({ rule: 'ggml/malformed', message: expect.stringContaining('not the llama layout') });
    }
    const limit = await scanSource(new MemorySource(bytesOf('vocab-limit.bin'), 'vocab-limit.bin'));
    expect(limit.findings.map((x) => x.rule)).toContain('ggml/limit-exceeded');
  });

  it('scan: before ggjt v3 the walk stops at the first quantized tensor and says so', async () => {
    const report = await scanSource(new MemorySource(bytesOf('refused-ggjt-v2-q8_0.bin'), 'q8.bin'));
    expect(report.findings.find((x) => x.rule === 'ggml/valid')?.message).toContain('2 tensors walked before "layers.0.attention.wq.weight", whose Q8_0 blocks changed between versions');
  });

  it('convert: tensors verified, hparams in the source metadata, the vocabulary listed; verify agrees', async () => {
    const out = tempDir('ggml-convert');
    const target = path.join(out, 'model.safetensors');
    const r = await runCli('convert', path.join(DIR, 'ggjt-v3-f16.bin'), '-o', target, '--json');
    expect(r.code, r.stderr).toBe(0);
    const inspect = JSON.parse((await runCli('inspect', '--json', target)).stdout);
    expect(inspect.tensors.map((t: { name: string }) => t.name)).toContain('layers.0.feed_forward.w1.weight');
    // The source's metadata (what convert's metadata mapping receives) holds the hparams.
    const source = JSON.parse((await runCli('inspect', '--json', path.join(DIR, 'ggjt-v3-f16.bin'))).stdout);
    expect(source.metadata).toMatchObject({ 'ggml.format': 'ggjt v3', 'ggml.n_vocab': '6', 'ggml.n_embd': '8', 'ggml.ftype': '1' });
    expect(source.leftOut).toEqual([{ path: 'vocabulary', what: '6 tokens with scores (69 bytes)' }]);
    const v = await runCli('verify', path.join(DIR, 'ggjt-v3-f16.bin'), target);
    expect(v.code, v.stdout + v.stderr).toBe(0);
  });

  it('a quantized tensor is refused naming the tensor, its type and the file version, with advice; nothing is written', async () => {
    const out = tempDir('ggml-refused');
    const v3 = await runCli('convert', path.join(DIR, 'refused-ggjt-v3-q4_0.bin'), '-o', path.join(out, 'a.safetensors'));
    expect(v3.code).toBe(3);
    expect(v3.stderr).toContain('UnsupportedTensor');
    expect(v3.stderr).toContain('tensor "layers.0.attention.wq.weight" is Q4_0 (ggml type 2) in a ggjt v3 file');
    expect(v3.stderr).toContain('convert_llama_ggml_to_gguf.py');
    const v2 = await runCli('convert', path.join(DIR, 'refused-ggjt-v2-q8_0.bin'), '-o', path.join(out, 'b.safetensors'));
    expect(v2.stderr).toContain('is Q8_0 (ggml type 8) in a ggjt v2 file');
    expect(fs.readdirSync(out)).toEqual([]);
  });
});
