import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { HubLocal } from '../hub/resolve.js';
import { isCommitHash } from '../hub/reference.js';
import { FileSource } from './file-source.js';

/**
 * The Hugging Face cache as huggingface_hub lays it out, read (never written) so that a file already
 * downloaded by transformers, `hf download` or any huggingface_hub user costs no request:
 * `<cache>/models--owner--repo/refs/<revision>` holds the commit hash a branch or tag pointed to, and
 * `<cache>/models--owner--repo/snapshots/<commit>/<path>` is the file (usually a symbolic link into
 * `blobs/`). The cache folder is HF_HUB_CACHE, else HUGGINGFACE_HUB_CACHE, else `$HF_HOME/hub`, with
 * HF_HOME defaulting to `$XDG_CACHE_HOME/huggingface`, else `~/.cache/huggingface` (huggingface_hub's
 * constants.py).
 */

/** Largest refs file read: it holds one 40-character hash; anything larger is not the cache's. */
export const MAX_REF_FILE_BYTES = 256;

type Env = Readonly<Record<string, string | undefined>>;

/** `$HF_HOME`, else `$XDG_CACHE_HOME/huggingface`, else `~/.cache/huggingface`. */
export function hfHome(env: Env = process.env): string {
  if (env['HF_HOME']) return expandHome(env['HF_HOME']);
  return path.join(env['XDG_CACHE_HOME'] ? expandHome(env['XDG_CACHE_HOME']) : path.join(os.homedir(), '.cache'), 'huggingface');
}

/** The hub cache folder: HF_HUB_CACHE, else HUGGINGFACE_HUB_CACHE, else `$HF_HOME/hub`. */
export function hubCacheDir(env: Env = process.env): string {
  const given = env['HF_HUB_CACHE'] || env['HUGGINGFACE_HUB_CACHE'];
  return given ? expandHome(given) : path.join(hfHome(env), 'hub');
}

/** `~` at the start of a path, as Python's expanduser reads it. */
export function expandHome(p: string): string {
  return p === '~' || p.startsWith('~/') ? path.join(os.homedir(), p.slice(1)) : p;
}

/** The folder of a model repository in the cache. */
export function repoCacheFolder(cacheDir: string, repo: string): string {
  return path.join(cacheDir, `models--${repo.split('/').join('--')}`);
}

/** The cache at `cacheDir` as the Hub resolver's local copies (hub/resolve.ts HubLocal). */
export function hubCache(cacheDir: string): HubLocal {
  const snapshot = (repo: string, commit: string): string => path.join(repoCacheFolder(cacheDir, repo), 'snapshots', commit);
  const fileOf = (repo: string, commit: string, file: string): string => path.join(snapshot(repo, commit), ...file.split('/'));
  return {
    commitOf(repo, revision) {
      const refs = path.join(repoCacheFolder(cacheDir, repo), 'refs');
      const file = path.join(refs, ...revision.split('/'));
      if (!file.startsWith(refs + path.sep)) return undefined;
      try {
        if (fs.statSync(file).size > MAX_REF_FILE_BYTES) return undefined;
        const commit = fs.readFileSync(file, 'utf8').trim();
        return isCommitHash(commit) ? commit : undefined;
      } catch {
        return undefined;
      }
    },
    listing(repo, commit) {
      try {
        const dir = snapshot(repo, commit);
        return fs.readdirSync(dir).filter((name) => isFile(path.join(dir, name)));
      } catch {
        return undefined;
      }
    },
    async open(repo, commit, file) {
      const p = fileOf(repo, commit, file);
      return isFile(p) ? FileSource.open(p) : undefined;
    },
    where: fileOf,
  };
}

/** A regular file (through symbolic links: the cache's snapshots link into blobs/). */
function isFile(p: string): boolean {
  try {
    return fs.statSync(p).isFile();
  } catch {
    return false;
  }
}
