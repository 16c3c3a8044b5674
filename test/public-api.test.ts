import { describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import ts from 'typescript';
import { ROOT } from './helpers/paths.js';

/**
 * The public API is an explicit list, frozen here (DESIGN.md): each entry point's exports, values and
 * types, as the built package has them (dist/index.d.ts, dist/node.d.ts, and the runtime modules), and
 * package.json's `exports`, equal to the committed lists in test/fixtures/public-api/. A change to the
 * API is a change to those files, made on purpose and reviewed:
 *
 *   npm run build && UPDATE_PUBLIC_API=1 npx vitest run test/public-api.test.ts
 *
 * rewrites them. Each exported value is named in README.md (documented names are the API).
 */
const FIXTURES = path.join(ROOT, 'test', 'fixtures', 'public-api');
const UPDATE = process.env.UPDATE_PUBLIC_API === '1';
const HOW = 'the public API changed. If on purpose: npm run build && UPDATE_PUBLIC_API=1 npx vitest run test/public-api.test.ts, then review and commit test/fixtures/public-api/ and document the change in README.md';

const ENTRIES = [
  { name: 'index', dts: 'dist/index.d.ts', js: 'dist/index.js' },
  { name: 'node', dts: 'dist/node.d.ts', js: 'dist/node.js' },
  { name: 'onnxruntime', dts: 'dist/onnxruntime.d.ts', js: 'dist/onnxruntime.js' },
  { name: 'tfjs', dts: 'dist/tfjs.d.ts', js: 'dist/tfjs.js' },
] as const;

/** Every name a .d.ts exports: `name` for values (functions, classes, constants), `type Name` for types only. */
function declaredExports(dts: string): string[] {
  const known = DECLARED.get(dts);
  if (known) return known;
  const file = path.join(ROOT, dts);
  const program = ts.createProgram([file], { module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext, noEmit: true, skipLibCheck: true });
  const checker = program.getTypeChecker();
  const source = program.getSourceFile(file)!;
  const module = checker.getSymbolAtLocation(source)!;
  const names = checker
    .getExportsOfModule(module)
    .map((s) => {
      // `export { type ZipArchive }` of a class exports its type only: no value at runtime.
      const typeOnly = (s.declarations ?? []).some((d) => ts.isExportSpecifier(d) && (d.isTypeOnly || d.parent.parent.isTypeOnly));
      const target = s.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(s) : s;
      return target.flags & ts.SymbolFlags.Value && !typeOnly ? s.name : `type ${s.name}`;
    })
    .sort();
  DECLARED.set(dts, names);
  return names;
}
const DECLARED = new Map<string, string[]>();

/** Compares with the committed list, or rewrites it under UPDATE_PUBLIC_API=1. */
function expectFrozen(fixture: string, actual: string): void {
  const file = path.join(FIXTURES, fixture);
  if (UPDATE) {
    fs.mkdirSync(FIXTURES, { recursive: true });
    fs.writeFileSync(file, actual);
  }
  const committed = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '(missing)';
  expect(actual, `${path.relative(ROOT, file)}: ${HOW}`).toBe(committed);
}

const built = ENTRIES.every((e) => fs.existsSync(path.join(ROOT, e.js)) && fs.existsSync(path.join(ROOT, e.dts)));

describe('the public API, frozen', () => {
  it('dist/ is built (npm test builds it first)', () => {
    expect(built, 'dist/ is missing: run `npm run build` first').toBe(true);
  });

  for (const entry of ENTRIES) {
    it.runIf(built)(`${entry.name}: exported names (values and types) equal test/fixtures/public-api/${entry.name}.txt`, async () => {
      const declared = declaredExports(entry.dts);
      expectFrozen(`${entry.name}.txt`, `${declared.join('\n')}\n`);
      // The runtime module exports exactly the declared values: nothing reaches users unlisted.
      const runtime = Object.keys(await import(pathToFileURL(path.join(ROOT, entry.js)).href)).sort();
      expect(runtime, HOW).toEqual(declared.filter((n) => !n.startsWith('type ')));
    });
  }

  it("package.json's exports equal test/fixtures/public-api/package-exports.json", () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { exports: unknown };
    expectFrozen('package-exports.json', `${JSON.stringify(pkg.exports, null, 2)}\n`);
  });

  it.runIf(built)('tensorsafe/node holds every name of tensorsafe', () => {
    const node = new Set(declaredExports('dist/node.d.ts'));
    expect(declaredExports('dist/index.d.ts').filter((n) => !node.has(n))).toEqual([]);
  });

  it.runIf(built)('every exported value is named in README.md', () => {
    const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
    const named = new Set([...readme.matchAll(/[A-Za-z_$][\w$]*/g)].map((m) => m[0]));
    const values = new Set(ENTRIES.flatMap((e) => declaredExports(e.dts)).filter((n) => !n.startsWith('type ')));
    expect([...values].filter((n) => !named.has(n)), 'an export README.md does not name: document it, or do not export it').toEqual([]);
  });

  // The adapters' entries too: they import nothing from their runtimes (optional peers), so they load without them.
  it.runIf(built).each(['index', 'onnxruntime', 'tfjs'])('the browser entry %s reaches no Node built-in, no Node-only module and no runtime package', (entry) => {
    const seen = new Set<string>();
    const bad: string[] = [];
    const visit = (file: string): void => {
      if (seen.has(file)) return;
      seen.add(file);
      const code = fs.readFileSync(file, 'utf8');
      for (const m of code.matchAll(/(?:^|\n)\s*(?:import|export)[^'"\n]*?from\s+'([^']+)'|\bimport\(\s*'([^']+)'\s*\)/g)) {
        const spec = (m[1] ?? m[2])!;
        if (!spec.startsWith('.')) {
          if (spec.startsWith('node:') || !['fflate', 'yaml'].includes(spec)) bad.push(`${path.relative(ROOT, file)} → ${spec}`);
          continue;
        }
        const target = path.resolve(path.dirname(file), spec);
        if (target.startsWith(path.join(ROOT, 'dist', 'node') + path.sep) || target === path.join(ROOT, 'dist', 'node.js')) bad.push(`${path.relative(ROOT, file)} → ${spec}`);
        visit(target);
      }
    };
    visit(path.join(ROOT, 'dist', `${entry}.js`));
    expect(seen.size).toBeGreaterThan(entry === 'index' ? 20 : 5);
    expect(bad).toEqual([]);
  });
});
