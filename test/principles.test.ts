import { describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ROOT } from './helpers/paths.js';

/** The project's principles, checked on its own source (shared/DESIGN.md). */
function sources(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? sources(p) : e.name.endsWith('.ts') ? [p] : [];
  });
}
const src = sources(path.join(ROOT, 'src'));
const text = (f: string): string => fs.readFileSync(f, 'utf8');
/** Static imports and re-exports (on one line or several: `import {\n  a,\n} from '…'`). */
const importsIn = (code: string): string[] => [...code.matchAll(/(?:^|\n)\s*(?:import|export)\b[^'";]*?\bfrom\s+'([^']+)'/g)].map((m) => m[1]!);
const imports = (f: string): string[] => importsIn(text(f));
/** Static and dynamic (`import('./x.js')`) imports of the package's own files, in a file's code. */
const ownImportsIn = (code: string): string[] => [...importsIn(code), ...[...code.matchAll(/\bimport\('([^']+)'\)/g)].map((m) => m[1]!)].filter((s) => s.startsWith('.'));
/** A source file's path under src/, with forward slashes: `formats/registry.ts`. */
const underSrc = (f: string): string => path.relative(path.join(ROOT, 'src'), f).split(path.sep).join('/');

/**
 * Layers, lowest first (DESIGN.md): a file may import its own layer and the ones below. The folders of
 * one layer sit side by side: convert/, verify/, scan/ and integrity/ work on TensorSets and the
 * readers' raw structures, never on each other (what two of them share belongs a layer down).
 */
const LAYERS: readonly (readonly string[])[] = [['errors.ts'], ['util'], ['io'], ['dtype'], ['safetensors'], ['tensor'], ['formats'], ['runtime'], ['convert', 'verify', 'scan', 'integrity'], ['model'], ['hub'], ['node'], ['cli', 'web']];
const folderOf = (f: string): string => path.relative(path.join(ROOT, 'src'), f).split(path.sep)[0]!;
const layerOf = (f: string): number => LAYERS.findIndex((layer) => layer.includes(folderOf(f)));


describe('principles', () => {
  it('nothing read is ever executed: no eval, no Function, no dynamic import of a computed name', () => {
    for (const f of src) {
      // The CLI loads each command, and the scanner each format's rules, when needed: literal specifiers of the package's own files only;
      // and node/runtimes.ts the optional runtimes of verify --run, by their literal package names.
      const code = text(f)
        .replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, '')
        .replace(/\bimport\('\.{1,2}\/[a-z0-9/-]+\.js'\)/g, '')
        .replace(/\bimport\('(onnxruntime-node|@tensorflow\/tfjs)'\)/g, (m) => (f.endsWith('runtimes.ts') ? '' : m));
      expect([f, /\beval\s*\(|new\s+Function\s*\(|\bFunction\s*\(|\bimport\s*\(/.test(code)]).toEqual([f, false]);
    }
  });

  it('imports point down the layers', () => {
    for (const f of src) {
      const layer = layerOf(f);
      if (layer < 0) continue; // the entry points index.ts and node.ts
      for (const spec of imports(f).filter((s) => s.startsWith('.'))) {
        const target = path.resolve(path.dirname(f), spec.replace(/\.js$/, '.ts'));
        expect([f, spec, layerOf(target) <= layer]).toEqual([f, spec, true]);
      }
    }
  });

  describe('the layers above formats/ reach a format only through the registry and shared infrastructure', () => {
    // Registry, descriptors, detection, findings, the rules' shared helpers, and the machinery the
    // scanner walks itself (zip, pickle). The safetensors layer (src/safetensors/) is not a format folder.
    const SHARED = /^formats\/(registry|format|detect|findings|scan-rules)\.ts$|^formats\/(zip|pickle)\//;
    /** What must stay, each with its reason: `importer → format file`. */
    const EXCEPTIONS = new Set([
      // The scanner lists tar members as Python's tarfile does (any tar is read, checkpoint or not);
      // the listing still lives beside the tar checkpoint reader in torch's folder.
      'scan/scan.ts → formats/torch/tar-checkpoint.ts',
    ]);
    const ABOVE = /^(runtime|scan|convert|verify|integrity|model|hub|node|cli|web)\//;
    /** Every import of a format's own folder in a file above formats/ (its path and code), as `importer → target`. */
    const formatImports = (f: string, code = text(f)): string[] =>
      ownImportsIn(code)
        .map((spec) => underSrc(path.resolve(path.dirname(f), spec.replace(/\.js$/, '.ts'))))
        .filter((target) => target.startsWith('formats/') && !SHARED.test(target))
        .map((target) => `${underSrc(f)} → ${target}`);

    it('runtime/, scan/, convert/, verify/, integrity/, model/, node/, cli/ and web/ name no format but the listed exceptions', () => {
      const above = src.filter((f) => ABOVE.test(underSrc(f)));
      for (const folder of ['runtime', 'scan', 'convert', 'verify', 'integrity', 'model', 'node', 'cli', 'web']) expect([folder, above.some((f) => underSrc(f).startsWith(`${folder}/`))]).toEqual([folder, true]);
      const found = above.flatMap((f) => formatImports(f));
      expect(found.filter((i) => !EXCEPTIONS.has(i))).toEqual([]);
      // An exception no longer needed is removed from the list.
      expect([...EXCEPTIONS].filter((e) => !found.includes(e))).toEqual([]);
    });

    it('the check sees a new import of a format folder, static, multi-line or dynamic', () => {
      // A file as if it were src/convert/new.ts (nothing is written).
      const f = path.join(ROOT, 'src', 'convert', 'new.ts');
      expect(formatImports(f, "import { numpyFormat } from '../formats/numpy/format.js';\n")).toEqual(['convert/new.ts → formats/numpy/format.ts']);
      expect(formatImports(f, "import {\n  readNpyHeader,\n  type NpyHeader,\n} from '../formats/numpy/header.js';\n")).toEqual(['convert/new.ts → formats/numpy/header.ts']);
      expect(formatImports(f, "export const load = () => import('../formats/gguf/reader.js');\n")).toEqual(['convert/new.ts → formats/gguf/reader.ts']);
      expect(formatImports(f, "import { formatById } from '../formats/registry.js';\nimport type { ZipEntry } from '../formats/zip/index.js';\n")).toEqual([]);
    });
  });

  it("each container's byte signature is written once, in formats/detect.ts", () => {
    const SIGNATURES = ['isZipLocalHeader', 'isNpyMagic', 'pickleProtocol', 'tarChecksumValid'];
    for (const name of SIGNATURES) {
      const defining = src.filter((f) => new RegExp(`\\b(function|const)\\s+${name}\\b`).test(text(f))).map(underSrc);
      expect([name, defining]).toEqual([name, ['formats/detect.ts']]);
    }
  });

  it('no sideways imports between folders of one layer (convert/, verify/, scan/, integrity/ stay apart)', () => {
    const sideways: string[] = [];
    for (const f of src) {
      const layer = layerOf(f);
      if (layer < 0 || LAYERS[layer]!.length < 2) continue;
      for (const spec of imports(f).filter((s) => s.startsWith('.'))) {
        const target = path.resolve(path.dirname(f), spec.replace(/\.js$/, '.ts'));
        if (layerOf(target) === layer && folderOf(target) !== folderOf(f)) {
          const rel = (x: string): string => path.relative(path.join(ROOT, 'src'), x).split(path.sep).join('/');
          sideways.push(`${rel(f)} → ${rel(target)}`);
        }
      }
    }
    expect(sideways).toEqual([]);
  });

  it('the page (web/) stands on the library as the browser has it: it imports nothing from node/ or cli/', () => {
    const web = src.filter((f) => underSrc(f).startsWith('web/'));
    expect(web.length).toBeGreaterThan(0);
    for (const f of web) {
      for (const spec of ownImportsIn(text(f))) {
        const target = underSrc(path.resolve(path.dirname(f), spec.replace(/\.js$/, '.ts')));
        expect([underSrc(f), target, /^(node|cli)\/|^node\.ts$/.test(target)]).toEqual([underSrc(f), target, false]);
      }
    }
  });

  it('browser-reachable code uses no Node built-ins; only node/ and cli/ touch files', () => {
    for (const f of src.filter((f) => !/[/\\](node|cli)[/\\]/.test(f) && !f.endsWith('node.ts'))) {
      for (const spec of imports(f)) expect([f, spec.startsWith('node:') || /^(fs|path|os|http|crypto|child_process)$/.test(spec)]).toEqual([f, false]);
    }
  });

  it('the core has no runtime dependencies; the package has two (fflate, for inflate; yaml, for PFA documents in YAML)', () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
    expect(Object.keys(pkg.dependencies ?? {})).toEqual(['fflate', 'yaml']);
    const core = src.filter((f) => /[/\\]src[/\\](io|dtype|safetensors|util)[/\\]/.test(f));
    for (const f of core) for (const spec of imports(f)) expect([f, spec.startsWith('.')]).toEqual([f, true]);
  });
});
