import { describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import ts from 'typescript';
import { ROOT } from './helpers/paths.js';

/**
 * What `npm pack` ships: a licence, the built code without source maps (src/ is not shipped, so maps
 * would point nowhere), the files the README and the demo need, and no script that runs in a consumer's
 * install.
 */
const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
  license: string;
  scripts: Record<string, string>;
  files: string[];
};

describe('the package', () => {
  it('carries the licence package.json names', () => {
    expect(pkg.license).toBe('Apache-2.0');
    const license = fs.readFileSync(path.join(ROOT, 'LICENSE'), 'utf8');
    expect(license).toMatch(/Apache License\s+Version 2\.0, January 2004/);
    expect(license).toMatch(/END OF TERMS AND CONDITIONS/);
  });

  it('runs nothing when a consumer installs it', () => {
    for (const hook of ['preinstall', 'install', 'postinstall', 'prepare']) expect([hook, pkg.scripts[hook]]).toEqual([hook, undefined]);
  });

  it('the demo builds first (a fresh clone has no dist/)', () => {
    expect(pkg.scripts['demo']).toMatch(/^npm run build && /);
    expect(pkg.scripts['test']).toMatch(/^npm run build && /);
  });

  it('the build emits no source maps', () => {
    const config = ts.getParsedCommandLineOfConfigFile(path.join(ROOT, 'tsconfig.build.json'), {}, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => {} })!;
    expect([config.options.sourceMap ?? false, config.options.declarationMap ?? false, config.options.inlineSourceMap ?? false]).toEqual([false, false, false]);
  });

  it('npm pack ships the licence, the built entry points, the CLI and the demo sample, and no maps', () => {
    const out = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    const files = (JSON.parse(out) as { files: { path: string }[] }[])[0]!.files.map((f) => f.path);
    for (const f of ['LICENSE', 'README.md', 'package.json', 'bin/tensorsafe.js', 'dist/index.js', 'dist/index.d.ts', 'dist/node.js', 'dist/node.d.ts', 'dist/cli/main.js', 'test/fixtures/torch/sample/pytorch_model.bin']) {
      expect([f, files.includes(f)]).toEqual([f, true]);
    }
    expect(files.filter((f) => f.endsWith('.map') || f.startsWith('src/'))).toEqual([]);
    const withMapComments = files.filter((f) => f.endsWith('.js') && fs.readFileSync(path.join(ROOT, f), 'utf8').includes('sourceMappingURL'));
    expect(withMapComments).toEqual([]);
  });
});
