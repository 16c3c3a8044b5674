// Bundles the web page (src/web/) into static files in dist/web/: the page's script, its worker,
// index.html and style.css. Run by `npm run build` after tsc; `tensorsafe web` serves the result.
import { build } from 'esbuild';
import { copyFileSync, mkdirSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const OUT = join(ROOT, 'dist', 'web');
const STATIC = join(ROOT, 'src', 'web', 'static');

mkdirSync(OUT, { recursive: true });
await build({
  absWorkingDir: ROOT,
  entryPoints: { app: 'src/web/app/main.ts', worker: 'src/web/worker/worker.ts' },
  outdir: OUT,
  bundle: true,
  format: 'esm',
  // A Node built-in in the bundle is an error here: the page runs in browsers only.
  platform: 'browser',
  target: ['chrome111', 'firefox115', 'safari16.4'],
  minify: true,
  legalComments: 'none',
  // Each format's reader in its own chunk, loaded when a file of that format is opened.
  splitting: true,
  chunkNames: 'chunks/[name]-[hash]',
  logLevel: 'warning',
});
for (const f of readdirSync(STATIC)) copyFileSync(join(STATIC, f), join(OUT, f));
