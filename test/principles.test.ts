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
const imports = (f: string): string[] => [...text(f).matchAll(/(?:^|\n)\s*(?:import|export)[^'"\n]*from\s+'([^']+)'/g)].map((m) => m[1]!);

/**
 * Layers, lowest first (DESIGN.md): a file may import its own layer and the ones below. The folders of
 * one layer sit side by side: convert/, verify/, scan/ and integrity/ work on TensorSets and the
 * readers' raw structures, never on each other (what two of them share belongs a layer down).
 */
const LAYERS: readonly (readonly string[])[] = [['errors.ts'], ['util'], ['io'], ['dtype'], ['safetensors'], ['tensor'], ['formats'], ['convert', 'verify', 'scan', 'integrity'], ['node'], ['cli']];
const folderOf = (f: string): string => path.relative(path.join(ROOT, 'src'), f).split(path.sep)[0]!;
const layerOf = (f: string): number => LAYERS.findIndex((layer) => layer.includes(folderOf(f)));


describe('principles', () => {
  it('nothing read is ever executed: no eval, no Function, no dynamic import of a computed name', () => {
    for (const f of src) {
      // The CLI loads each command, and the scanner each format's rules, when needed: literal specifiers of the package's own files only.
      const code = text(f)
        .replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, '')
        .replace(/\bimport\('\.{1,2}\/[a-z0-9/-]+\.js'\)/g, '');
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

  it('the scanner never names a format: it reaches them through the registry and uses only shared infrastructure', () => {
    // Registry, detection, findings, the rules' shared helpers, and the containers the scanner walks itself.
    const SHARED = /^formats\/(registry|format|detect|findings|scan-rules)\.ts$|^formats\/(zip|pickle)\//;
    // Named exceptions, each with its reason: the tar member listing still lives in torch's folder.
    const EXCEPTIONS = new Set(['formats/torch/tar-checkpoint.ts']);
    const scanner = src.filter((f) => /[/\\]src[/\\]scan[/\\]/.test(f));
    expect(scanner.length).toBeGreaterThan(0);
    for (const f of scanner) {
      const specs = [...imports(f), ...[...text(f).matchAll(/\bimport\('([^']+)'\)/g)].map((m) => m[1]!)].filter((s) => s.startsWith('.'));
      for (const spec of specs) {
        const target = path.relative(path.join(ROOT, 'src'), path.resolve(path.dirname(f), spec.replace(/\.js$/, '.ts'))).split(path.sep).join('/');
        if (!target.startsWith('formats/')) continue;
        expect([f, target, SHARED.test(target) || EXCEPTIONS.has(target)]).toEqual([f, target, true]);
      }
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

  it('browser-reachable code uses no Node built-ins; only node/ and cli/ touch files', () => {
    for (const f of src.filter((f) => !/[/\\](node|cli)[/\\]/.test(f) && !f.endsWith('node.ts'))) {
      for (const spec of imports(f)) expect([f, spec.startsWith('node:') || /^(fs|path|os|http|crypto|child_process)$/.test(spec)]).toEqual([f, false]);
    }
  });

  it('the core has no runtime dependencies; the package has one (fflate, for inflate)', () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
    expect(Object.keys(pkg.dependencies ?? {})).toEqual(['fflate']);
    const core = src.filter((f) => /[/\\]src[/\\](io|dtype|safetensors|util)[/\\]/.test(f));
    for (const f of core) for (const spec of imports(f)) expect([f, spec.startsWith('.')]).toEqual([f, true]);
  });
});
