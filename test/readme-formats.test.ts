import { describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import ts from 'typescript';
import { ROOT } from './helpers/paths.js';
import { limitRow } from './helpers/readme-limits.js';
import { runCli } from './helpers/cli.js';
import { tempDir } from './helpers/temp.js';
import { FORMATS } from '../src/formats/registry.js';

/**
 * What the README says about the formats (issues 11 and 12) is what the code does: the limits table's values
 * and files are the named constants', the Formats section's transcript is what `convert` prints, and the
 * results its examples show in comments are what they give. (test/docs.test.ts runs every example; this
 * checks what the comments claim they return.)
 */
const README = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
const run = promisify(execFile);

/** The fenced code blocks of the README whose fence has this language. */
function blocks(lang: string): string[] {
  return [...README.matchAll(/^```(\S*)\n([\s\S]*?)^```$/gm)].filter((m) => m[1] === lang).map((m) => m[2]!);
}

/** The value a constant has in the file (or any file of the folder) the README names for it. */
async function constantIn(file: string, name: string): Promise<unknown> {
  const full = path.join(ROOT, file);
  const files = fs.statSync(full).isDirectory() ? fs.readdirSync(full).filter((f) => f.endsWith('.ts')).map((f) => path.join(file, f)) : [file];
  const holders = files.filter((f) => new RegExp(`export const ${name}\\b`).test(fs.readFileSync(path.join(ROOT, f), 'utf8')));
  expect([name, file, holders.length]).toEqual([name, file, 1]);
  const mod = (await import(path.join(ROOT, holders[0]!))) as Record<string, unknown>;
  return mod[name];
}

describe('the limits table for the formats', () => {
  it.each(['NumPy:', 'GGUF:', 'GGUF metadata:', 'GGML (legacy):', 'ONNX:', 'TF.js:', 'TFLite:', 'HDF5:', 'HDF5 storage:', 'Keras:', 'TorchScript:', 'TF checkpoint:', 'Core ML:', 'XML (PMML', 'PMML:', 'PFA:', 'MXNet:', 'PaddlePaddle:', 'Flax:'])('%s each value is its named constant, in the file named', async (row) => {
    const { values, constants } = limitRow(row);
    expect(constants.length).toBe(values.length);
    for (const [i, c] of constants.entries()) {
      expect([c.name, await constantIn(c.file, c.name)]).toEqual([c.name, values[i]]);
    }
  });
});

describe('the Formats section', () => {
  it("the transcript of `convert embeddings.npz` is what convert prints (but the time)", async () => {
    const block = blocks('console').filter((b) => b.startsWith('$ npx tensorsafe convert embeddings.npz\n'));
    expect(block.length).toBe(1);
    const [, ...shown] = block[0]!.trimEnd().split('\n');
    const dir = tempDir('readme-formats');
    fs.copyFileSync(path.join(ROOT, 'test/fixtures/formats/numpy/compressed.npz'), path.join(dir, 'embeddings.npz'));
    const r = await runCli('convert', path.join(dir, 'embeddings.npz'));
    expect(r.code).toBe(0);
    const printed = [...r.stdout.split('\n'), ...r.stderr.split('\n')].filter((l) => l.length > 0).map((l) => l.split(`${dir}${path.sep}`).join(''));
    const noTime = (l: string) => l.replace(/ in \d+(\.\d+)?s$/, ' in …s');
    expect(printed.map(noTime)).toEqual(shown.map(noTime));
  });

  it("the Library API's FORMATS ids are the registry's", () => {
    const m = /FORMATS\.map\(\(f\) => f\.id\);\s*\/\/ (\[[^\]]*\])/.exec(README);
    expect(m).not.toBeNull();
    expect(JSON.parse(m![1]!.replace(/'/g, '"'))).toEqual(FORMATS.map((f) => f.id));
  });
});

describe('the Writing GGUF example', () => {
  it('gives the outputs and notes its comments show', async () => {
    const block = blocks('ts').filter((b) => b.includes("convertModel('tiny.safetensors'"));
    expect(block.length).toBe(1);
    const code = block[0]!;
    const comment = (expr: string) => new RegExp(`^${expr.replace(/[.]/g, '\\.')};\\s*// (\\[[^\\]]*\\])`, 'm').exec(code)?.[1];
    const dir = tempDir('readme-gguf');
    fs.mkdirSync(path.join(dir, 'node_modules'));
    fs.symlinkSync(ROOT, path.join(dir, 'node_modules', 'tensorsafe'), 'dir');
    const js = ts.transpileModule(`${code}\nconsole.log(JSON.stringify({ outputs: summary.outputs, notes: summary.notes }));\nexport {};\n`, {
      compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
    }).outputText;
    fs.writeFileSync(path.join(dir, 'example.mjs'), js);
    const { stdout } = await run(process.execPath, ['example.mjs'], { cwd: dir });
    const got = JSON.parse(stdout) as { outputs: string[]; notes: string[] };
    // A comment's items: `'text'` exactly, or `'text …'`: the actual item starts with the text.
    for (const [expr, actual] of [['summary.outputs', got.outputs], ['summary.notes', got.notes]] as const) {
      const shown = [...comment(expr)!.matchAll(/'([^']*)'/g)].map((x) => x[1]!);
      expect([expr, actual.length]).toEqual([expr, shown.length]);
      shown.forEach((s, i) => {
        const cut = s.indexOf('…');
        if (cut < 0) expect(actual[i]).toBe(s);
        else expect(actual[i]!.startsWith(s.slice(0, cut))).toBe(true);
      });
    }
  });
});
