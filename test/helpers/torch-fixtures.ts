import * as fs from 'node:fs';
import * as path from 'node:path';
import { ROOT } from './paths.js';

/** test/fixtures/torch: checkpoints written by torch 1.13 and the values torch loads from them. */
export const TORCH_FIXTURES = path.join(ROOT, 'test', 'fixtures', 'torch');

export interface ExpectedTensor {
  dtype: string;
  shape: number[];
  hex?: string;
  sha256: string;
}

export interface Expected {
  source: string;
  format: string;
  key: string | null;
  tensors?: Record<string, ExpectedTensor>;
  shared?: string[][];
  same_storage?: string[][];
  other?: string[];
  expect_error?: string;
  /** Holds an unknown (not dangerous) class: refused by default, converted with skipUnknown. */
  needs_skip_unknown?: boolean;
  files?: string[];
  shards?: Record<string, string[]>;
}

export interface Fixture {
  file: string;
  format: string;
  expected: Expected;
  exercises: string;
}

export function torchFixtures(): Fixture[] {
  return fs
    .readFileSync(path.join(TORCH_FIXTURES, 'MANIFEST.tsv'), 'utf8')
    .split('\n')
    .filter((l) => l && !l.startsWith('#') && !l.startsWith('file\t'))
    .map((l) => {
      const [file, format, expected, exercises] = l.split('\t') as [string, string, string, string];
      return { file, format, exercises, expected: JSON.parse(fs.readFileSync(path.join(TORCH_FIXTURES, expected), 'utf8')) as Expected };
    });
}
