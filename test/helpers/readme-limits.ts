import * as fs from 'node:fs';
import * as path from 'node:path';
import { ROOT } from './paths.js';

/** `4 MiB`, `1,000,000`, `64 bytes` → the number. */
export function parseValue(text: string): number {
  const m = /^([\d,]+)\s*(KiB|MiB|GiB|bytes|B)?$/.exec(text.trim());
  if (!m) throw new Error(`not a value: ${JSON.stringify(text)}`);
  const n = Number(m[1]!.replace(/,/g, ''));
  const unit: Record<string, number> = { KiB: 1024, MiB: 1024 ** 2, GiB: 1024 ** 3 };
  return n * (unit[m[2] ?? ''] ?? 1);
}

/** A row of the README's limits table by its first cell's beginning: its values and the constants it names, in order, with their files. */
export function limitRow(start: string): { values: number[]; constants: { name: string; file: string }[] } {
  const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const line = readme.split('\n').find((l) => l.startsWith(`| ${start}`));
  if (!line) throw new Error(`no limits row starting ${start}`);
  const [, values, where] = line.split(/\s\|\s?/);
  const constants: { name: string; file: string }[] = [];
  // Each group of constants is followed by the file (or folder) that holds it, in parentheses.
  for (const group of where!.matchAll(/((?:(?:ggml's )?`[A-Z0-9_]+`,?\s*)+)\(`([^`]+)`\)/g)) {
    for (const c of group[1]!.matchAll(/`([A-Z0-9_]+)`/g)) constants.push({ name: c[1]!, file: group[2]! });
  }
  return { values: values!.split(/ \/ | and /).map(parseValue), constants };
}
