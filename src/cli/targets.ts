import * as fs from 'node:fs';
import * as path from 'node:path';
import { entryKind, firstVisit } from '../node/file-source.js';

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
