import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { execFile } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { promisify } from 'node:util';
import ts from 'typescript';
import { ROOT } from './helpers/paths.js';
import { runCli } from './helpers/cli.js';
import { convertCheckpoint } from '../src/node/convert.js';

/**
 * The documentation stands alone and says what the code does: README.md and docs/*.md link to nothing
 * outside the repository, every TypeScript example runs as written against the built package (imported
 * by name, as a user would), every `tensorsafe` command and option they show exists, and every error
 * code they name is one the source has.
 */
const run = promisify(execFile);
const DOC_FILES = ['README.md', ...fs.readdirSync(path.join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];
const text = (file: string) => fs.readFileSync(path.join(ROOT, file), 'utf8');

interface Block {
  file: string;
  line: number;
  lang: string;
  code: string;
}

/** Fenced code blocks, with the language of the fence and the line it starts on. */
function blocksOf(file: string): Block[] {
  const lines = text(file).split('\n');
  const out: Block[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(\S*)/.exec(lines[i]!);
    if (!open) continue;
    const start = i;
    const body: string[] = [];
    for (i++; i < lines.length && !lines[i]!.startsWith('```'); i++) body.push(lines[i]!);
    out.push({ file, line: start + 1, lang: open[1]!, code: body.join('\n') });
  }
  return out;
}

const BLOCKS = DOC_FILES.flatMap(blocksOf);
const CODE = BLOCKS.filter((b) => ['ts', 'typescript', 'js', 'javascript', 'mjs'].includes(b.lang));
const SHELL = BLOCKS.filter((b) => ['sh', 'console', 'shell', 'bash'].includes(b.lang));

describe('the documentation stands alone', () => {
  it('no README or docs file points outside the repository (../shared)', () => {
    const files = [...DOC_FILES, ...fs.readdirSync(path.join(ROOT, 'docs', 'examples')).map((f) => `docs/examples/${f}`)];
    for (const file of files) {
      const hits = text(file)
        .split('\n')
        .map((l, i) => [i + 1, l] as const)
        .filter(([, l]) => /\.\.\/shared\b|\bshared\/(specs|corpus|conformance|DESIGN)/.test(l));
      expect([file, hits]).toEqual([file, []]);
    }
  });

  it('relative links lead to files of the repository', () => {
    for (const file of DOC_FILES) {
      for (const m of text(file).matchAll(/\]\(([^)#\s]+)(#[^)]*)?\)/g)) {
        const target = m[1]!;
        if (/^[a-z]+:/.test(target)) continue;
        expect([file, target, fs.existsSync(path.resolve(ROOT, path.dirname(file), target))]).toEqual([file, target, true]);
      }
    }
  });

  it('has examples to check', () => {
    expect(CODE.length).toBeGreaterThan(8);
    expect(SHELL.length).toBeGreaterThan(5);
  });
});

// --- error codes ---------------------------------------------------------------------------------------

/** Every code the source can give an error, and every name it declares. */
function sourceNames(): { codes: Set<string>; names: Set<string> } {
  const codes = new Set<string>();
  const names = new Set<string>();
  const walk = (dir: string): void => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.ts')) {
        const src = fs.readFileSync(p, 'utf8');
        for (const m of src.matchAll(/'([A-Z][A-Za-z0-9]+)'/g)) codes.add(m[1]!);
        for (const m of src.matchAll(/\b(?:class|interface|type|function|const|enum)\s+([A-Za-z_$][\w$]*)/g)) names.add(m[1]!);
      }
    }
  };
  walk(path.join(ROOT, 'src'));
  return { codes, names };
}

/** Python, numpy, torch and Keras names the docs mention, which are not tensorsafe's. */
const FOREIGN = new Set(['OrderedDict', 'AttributeDict', 'DictConfig', 'ListConfig', 'PosixPath', 'CodeType', 'FileIO', 'FileHandler', 'SafeTensorError', 'BadZipFile', 'TensorProto', 'ModelProto', 'AsyncDisposable']);

describe('error codes in the documentation', () => {
  it('every PascalCase name in backquotes is an error code or a name of the source', () => {
    const { codes, names } = sourceNames();
    const unknown: string[] = [];
    for (const file of DOC_FILES) {
      for (const m of text(file).matchAll(/`([A-Z][a-z0-9]+(?:[A-Z][a-z0-9]*)+)`/g)) {
        const name = m[1]!;
        if (!codes.has(name) && !names.has(name) && !FOREIGN.has(name) && !(name in globalThis)) unknown.push(`${file}: ${name}`);
      }
    }
    expect(unknown).toEqual([]);
  });

  it('the code a refused conversion gives is among the codes the convert section names', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tensorsafe-docs-'));
    try {
      // A bare pickle that imports posix.system and calls it (crafted bytes; nothing loads them).
      const file = path.join(dir, 'evil.pkl');
      fs.writeFileSync(file, Buffer.from('\x80\x02cposix\nsystem\nq\x00X\x02\x00\x00\x00idq\x01\x85q\x02Rq\x03.', 'latin1'));
      const code = await convertCheckpoint(file).then(
        () => 'converted',
        (e: { code?: string }) => e.code,
      );
      const r = await runCli('convert', file);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(String(code));
      const readme = text('README.md');
      const section = readme.slice(readme.indexOf('### `tensorsafe convert SRC'), readme.indexOf('### `tensorsafe convert DIR'));
      expect(section).toContain(`\`${code}\``);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

// --- TypeScript examples -------------------------------------------------------------------------------

/**
 * A folder where `import … from 'tensorsafe'` resolves to this repository's built package
 * (node_modules/tensorsafe → the repository: its package.json "exports" lead to dist/), holding the
 * files the examples name: the bundled PyTorch sample as pytorch_model.bin, that checkpoint converted to
 * model.safetensors, a Lightning-style checkpoint as last.ckpt, an Ed25519 key pair, and an ONNX model
 * (add.onnx) for the ONNX Runtime example.
 */
let seed = '';
let work = '';

beforeAll(async () => {
  if (!fs.existsSync(path.join(ROOT, 'dist', 'index.js')) || !fs.existsSync(path.join(ROOT, 'dist', 'node.js'))) {
    throw new Error('dist/ is missing: run `npm run build` first (npm test does)');
  }
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'tensorsafe-examples-'));
  fs.mkdirSync(path.join(work, 'node_modules'));
  fs.symlinkSync(ROOT, path.join(work, 'node_modules', 'tensorsafe'), 'dir');
  // The runtimes the adapters' examples import (development dependencies here, a user's own there).
  for (const runtime of ['@tensorflow', 'onnxruntime-node', 'onnxruntime-common']) fs.symlinkSync(path.join(ROOT, 'node_modules', runtime), path.join(work, 'node_modules', runtime), 'dir');
  seed = path.join(work, 'seed');
  fs.mkdirSync(seed);
  fs.copyFileSync(path.join(ROOT, 'test/fixtures/torch/sample/pytorch_model.bin'), path.join(seed, 'pytorch_model.bin'));
  fs.copyFileSync(path.join(ROOT, 'test/fixtures/torch/lightning_like.ckpt'), path.join(seed, 'last.ckpt'));
  fs.copyFileSync(path.join(ROOT, 'test/fixtures/formats/numpy/compressed.npz'), path.join(seed, 'embeddings.npz'));
  fs.copyFileSync(path.join(ROOT, 'test/fixtures/runtime/add.onnx'), path.join(seed, 'add.onnx'));
  await convertCheckpoint(path.join(seed, 'pytorch_model.bin'));
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  fs.writeFileSync(path.join(seed, 'key.pem'), privateKey.export({ type: 'pkcs8', format: 'pem' }));
  fs.writeFileSync(path.join(seed, 'key.pub.pem'), publicKey.export({ type: 'spki', format: 'pem' }));
});

afterAll(() => {
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

/** The block as an ES module (`export {}` keeps each block's names to itself). */
function asModule(block: Block): string {
  return `${block.code}\nexport {};\n`;
}

/**
 * For type-checking: the block, plus a check that each interface it shows and each function it declares
 * has the type of the package's own (each assignable to the other).
 */
function withSignatureChecks(block: Block): string {
  const checks: string[] = [];
  for (const m of block.code.matchAll(/^(?:interface|declare function) (\w+)/gm)) {
    const name = m[1]!;
    const isType = m[0].startsWith('interface');
    checks.push(`import ${isType ? 'type ' : ''}{ ${name} as Real_${name} } from 'tensorsafe/node';`);
    const [shown, real] = isType ? [name, `Real_${name}`] : [`typeof ${name}`, `typeof Real_${name}`];
    checks.push(`const check_${name}: [${shown}] extends [${real}] ? ([${real}] extends [${shown}] ? true : false) : false = true;`, `void check_${name};`);
  }
  return `${asModule(block)}${checks.join('\n')}\n`;
}

describe('TypeScript and JavaScript examples', () => {
  it.each(CODE.map((b) => [`${b.file}:${b.line}`, b] as const))('%s runs as written', async (_where, block) => {
    const out = ts.transpileModule(asModule(block), {
      compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
      reportDiagnostics: true,
      fileName: 'example.ts',
    });
    expect((out.diagnostics ?? []).map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'))).toEqual([]);
    const dir = fs.mkdtempSync(path.join(work, 'run-'));
    fs.cpSync(seed, dir, { recursive: true });
    const file = path.join(dir, 'example.mjs');
    fs.writeFileSync(file, out.outputText);
    const r = await run(process.execPath, [file], { cwd: dir, encoding: 'utf8' }).then(
      (x) => ({ code: 0, stderr: x.stderr }),
      (e: { stderr: string; code: number }) => ({ code: e.code, stderr: e.stderr }),
    );
    expect(r).toEqual({ code: 0, stderr: '' });
  });

  it('type-check against the built package', () => {
    const dir = path.join(work, 'typecheck');
    fs.mkdirSync(dir, { recursive: true });
    const files = CODE.map((b, i) => {
      const f = path.join(dir, `example${i}.mts`);
      fs.writeFileSync(f, withSignatureChecks(b));
      return { f, b };
    });
    const program = ts.createProgram(
      files.map((x) => x.f),
      {
        module: ts.ModuleKind.NodeNext,
        moduleResolution: ts.ModuleResolutionKind.NodeNext,
        target: ts.ScriptTarget.ES2022,
        lib: ['lib.es2023.d.ts', 'lib.dom.d.ts'],
        types: ['node'],
        typeRoots: [path.join(ROOT, 'node_modules', '@types')],
        strict: true,
        noEmit: true,
        skipLibCheck: true,
      },
    );
    const problems = ts.getPreEmitDiagnostics(program).map((d) => {
      const x = files.find((y) => y.f === d.file?.fileName);
      const line = d.file && d.start !== undefined ? d.file.getLineAndCharacterOfPosition(d.start).line : -1;
      const where = x ? (line < x.b.code.split('\n').length ? `${x.b.file}:${x.b.line + 1 + line}` : `${x.b.file}:${x.b.line} (signature check)`) : d.file?.fileName;
      return `${where}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`;
    });
    expect(problems).toEqual([]);
  });
});

// --- commands ------------------------------------------------------------------------------------------

/** `npx tensorsafe CMD ARGS…` lines of the console and sh blocks (and of the CI workflow example). */
function commandLines(): { where: string; argv: string[] }[] {
  const sources = [
    ...SHELL.map((b) => ({ where: `${b.file}:${b.line}`, code: b.code })),
    ...fs.readdirSync(path.join(ROOT, 'docs', 'examples')).map((f) => ({ where: `docs/examples/${f}`, code: text(`docs/examples/${f}`) })),
  ];
  const out: { where: string; argv: string[] }[] = [];
  for (const s of sources) {
    for (const line of s.code.split('\n')) {
      const m = /(?:^|\s|\$ )(?:npx )?tensorsafe ([^#|>&]*)/.exec(line.replace(/^\$ /, ''));
      if (!m || !/\bnpx tensorsafe\b|^\s*(?:run:\s*)?tensorsafe\b/.test(line.replace(/^\$ /, ''))) continue;
      out.push({ where: s.where, argv: m[1]!.trim().split(/\s+/) });
    }
  }
  return out;
}

describe('tensorsafe commands in the documentation', () => {
  const lines = commandLines();

  it('there are some', () => {
    expect(lines.length).toBeGreaterThan(8);
  });

  it('each command exists and has every option shown', async () => {
    const help = new Map<string, string>();
    for (const { where, argv } of lines) {
      const command = argv[0]!;
      if (!help.has(command)) {
        const r = await runCli(command, '--help');
        expect([where, command, r.code]).toEqual([where, command, 0]);
        help.set(command, r.stdout + r.stderr);
      }
      for (const option of argv.filter((a) => /^--?[a-z]/.test(a))) {
        const name = option.split('=')[0]!;
        expect([where, command, name, new RegExp(`(^|[\\s,\\[])${name.replace(/[-]/g, '\\-')}\\b`).test(help.get(command)!)]).toEqual([where, command, name, true]);
      }
    }
  });

  it('the set-up commands of the README are npm scripts', () => {
    const scripts = JSON.parse(text('package.json')).scripts as Record<string, string>;
    const setup = blocksOf('README.md').find((b) => b.code.includes('npm run demo'))!;
    for (const m of setup.code.matchAll(/npm (?:run )?([a-z]+)/g)) {
      if (m[1] === 'install' || m[1] === 'ci') continue;
      expect([m[1], m[1]! in scripts]).toEqual([m[1], true]);
    }
  });
});

describe('convertModel options in the README', () => {
  it("the paragraph listing convertModel's options names every field of ConvertOptions", () => {
    // Found by a new user looking for `dequantize` (TFLite) and TF.js's `quantize` there: the list had neither.
    const source = text('src/node/convert.ts');
    const body = /export interface ConvertOptions \{([\s\S]*?)\n\}/.exec(source)![1]!;
    const fields = [...body.matchAll(/^\s+(?:readonly )?(\w+)\??:/gm)].map((m) => m[1]!);
    expect(fields.length).toBeGreaterThan(8);
    const readme = text('README.md');
    const start = readme.indexOf("`convertModel`'s options are");
    const paragraph = readme.slice(start, readme.indexOf('\n\n', start));
    expect(fields.filter((f) => !new RegExp(`\`${f}[\`:]`).test(paragraph))).toEqual([]);
  });
});
