import * as fs from 'node:fs';
import * as path from 'node:path';
import { entryKind, firstVisit } from '../node/file-source.js';
import { hubReferenceOf, resolveHubTarget } from '../node/hub.js';

/** Expands folders into the files under them that `accept` takes, recursively, sorted; files and URLs pass through. */
export function expandTargets(targets: string[], accept: (file: string) => boolean): string[] {
  const out: string[] = [];
  for (const t of targets) {
    if (/^https?:\/\//i.test(t)) {
      out.push(t);
      continue;
    }
    let stat: fs.Stats | undefined;
    try {
      stat = fs.statSync(t);
    } catch {
      stat = undefined;
    }
    if (stat?.isDirectory()) out.push(...walk(t).filter(accept));
    else out.push(t);
  }
  return out;
}

/**
 * Replaces each Hub repository among the targets (`owner/repo`, `hf://owner/repo@rev`: no file named)
 * by its model's files at their pinned commit: every file (`all`: a sharded set's index and shards), or
 * the one that opens the model (`model`: the index of a sharded set). Other targets pass through.
 */
export async function expandHubTargets(targets: readonly string[], which: 'all' | 'model', prefer?: string): Promise<string[]> {
  const out: string[] = [];
  for (const t of targets) {
    const ref = hubReferenceOf(t);
    if (ref === undefined || ref.path !== undefined) {
      out.push(t);
      continue;
    }
    const model = await resolveHubTarget(ref, prefer !== undefined ? { prefer } : {});
    const files = model.files.map((f) => f.reference);
    if (which === 'model') out.push(model.index?.reference ?? files[0]!);
    else out.push(...(model.index ? [model.index.reference] : []), ...files);
  }
  return out;
}

/**
 * Folders a walk does not enter: git's object store (compressed objects no loader reads as a model) and
 * JavaScript dependencies. Named explicitly, they are scanned like any folder.
 */
export const WALK_SKIPS = new Set(['.git', 'node_modules']);

/** Files under `dir`, following symbolic links (each real folder entered once). */
function walk(dir: string, visited = new Set<string>()): string[] {
  const out: string[] = [];
  if (!firstVisit(visited, dir)) return out;
  for (const e of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const p = path.join(dir, e.name);
    const kind = entryKind(p, e);
    if (kind === 'dir' && WALK_SKIPS.has(e.name)) continue;
    if (kind === 'dir') out.push(...walk(p, visited));
    else if (kind === 'file') out.push(p);
  }
  return out;
}
