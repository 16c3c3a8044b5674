import * as fs from 'node:fs';
import * as path from 'node:path';
import { SHARED } from './paths.js';

/** ../shared/corpus: real third-party files (never copied into the repository). */
export const CORPUS = path.join(SHARED, 'corpus');
export const HAVE_CORPUS = fs.existsSync(path.join(CORPUS, 'pickle', 'MANIFEST.tsv'));

export interface CorpusRow {
  file: string;
  /** Absolute path. */
  path: string;
  label: string;
  notes: string;
}

/** corpus/pickle/MANIFEST.tsv: file, source_repo, path_in_repo, commit, size, label, technique. */
export function pickleCorpus(): CorpusRow[] {
  if (!HAVE_CORPUS) return [];
  return rows(path.join(CORPUS, 'pickle', 'MANIFEST.tsv')).map((c) => ({ file: c[0]!, path: path.join(CORPUS, 'pickle', c[0]!), label: c[5]!, notes: c[6] ?? '' }));
}

/** corpus/formats/MANIFEST.tsv: file, format, source, path, commit, size, notes (MALICIOUS/MALFORMED in notes). */
export function formatsCorpus(format?: string): CorpusRow[] {
  if (!HAVE_CORPUS) return [];
  return rows(path.join(CORPUS, 'formats', 'MANIFEST.tsv'))
    .filter((c) => format === undefined || c[1] === format)
    .map((c) => ({
      file: c[0]!,
      path: path.join(CORPUS, 'formats', c[0]!),
      label: /\bMALICIOUS\b/.test(c[6] ?? '') ? 'malicious' : /\bMALFORMED\b/.test(c[6] ?? '') ? 'malformed' : 'benign',
      notes: c[6] ?? '',
    }));
}

function rows(file: string): string[][] {
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .slice(1)
    .filter((l) => l.trim() !== '')
    .map((l) => l.split('\t'));
}
