import { describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ROOT } from './helpers/paths.js';
import { TensorsafeError, type ErrorCode } from '../src/errors.js';
import { EXIT_STATUS_OF, exitCodeForCode } from '../src/cli/exit-codes.js';

/**
 * One error contract (DESIGN.md): one union of codes in src/errors.ts, each documented, each raised
 * somewhere in src/ (or marked `@reserved` in its doc line), each with an exit status; a code outside
 * the union does not compile; no error class of the library extends plain Error unless it is internal
 * control flow that says so.
 */
const ERRORS_TS = fs.readFileSync(path.join(ROOT, 'src/errors.ts'), 'utf8');

/** The union's members as written in src/errors.ts, each with the doc comment on the line above it. */
const MEMBERS = (() => {
  const lines = ERRORS_TS.split('\n');
  return lines.flatMap((line, i) => {
    const m = /^\s*\| '(\w+)'/.exec(line);
    if (!m) return [];
    const doc = /^\s*\/\*\*(.*)\*\/\s*$/.exec(lines[i - 1] ?? '');
    return [{ code: m[1]!, doc: doc?.[1]?.trim() ?? '' }];
  });
})();

function sources(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? sources(p) : e.name.endsWith('.ts') ? [p] : [];
  });
}
const SRC = sources(path.join(ROOT, 'src'));
const withoutComments = (f: string): string => fs.readFileSync(f, 'utf8').replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, '');

describe('error codes: one union', () => {
  it('src/errors.ts declares each code once, each with a one-line doc', () => {
    expect(MEMBERS.length).toBeGreaterThan(90);
    const codes = MEMBERS.map((m) => m.code);
    expect(codes.filter((c, i) => codes.indexOf(c) !== i)).toEqual([]);
    expect(MEMBERS.filter((m) => m.doc === '').map((m) => m.code)).toEqual([]);
  });

  it('the exit-status table covers exactly the union (the compiler checks it too: Record<ErrorCode, …>)', () => {
    expect(Object.keys(EXIT_STATUS_OF).sort()).toEqual(MEMBERS.map((m) => m.code).sort());
    expect(exitCodeForCode('UnsafeFile')).toBe(1);
    expect(exitCodeForCode('UsageError')).toBe(2);
    expect(exitCodeForCode('NotFound')).toBe(3);
    expect(exitCodeForCode('InternalError')).toBe(70);
    expect(exitCodeForCode('NoSuchCode' as ErrorCode)).toBe(70);
  });

  it('every code is raised somewhere in src/, or documented as @reserved', () => {
    const rest = SRC.filter((f) => f !== path.join(ROOT, 'src', 'errors.ts') && f !== path.join(ROOT, 'src', 'cli', 'exit-codes.ts'))
      .map(withoutComments)
      .join('\n');
    const unused = MEMBERS.filter((m) => !rest.includes(`'${m.code}'`) && !m.doc.includes('@reserved')).map((m) => m.code);
    expect(unused, 'a code nothing raises: raise it, remove it, or mark its doc line @reserved').toEqual([]);
    const reservedButRaised = MEMBERS.filter((m) => m.doc.includes('@reserved') && rest.includes(`'${m.code}'`)).map((m) => m.code);
    expect(reservedButRaised).toEqual([]);
  });

  it("README's Errors section names every code, and no code outside the union", () => {
    const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('### Errors\n'), readme.indexOf('\n## ', readme.indexOf('### Errors\n')));
    const named = new Set([...section.matchAll(/`(\w+)`/g)].map((m) => m[1]!));
    expect(MEMBERS.filter((m) => !named.has(m.code)).map((m) => m.code)).toEqual([]);
    const table = section.split('\n').filter((l) => l.startsWith('| ') && !l.startsWith('| group'));
    const inTable = table.flatMap((row) => [...row.split('|')[3]!.matchAll(/`(\w+)`/g)].map((m) => m[1]!));
    expect(inTable.filter((c) => !MEMBERS.some((m) => m.code === c))).toEqual([]);
  });

  it('the type checker rejects a code outside the union', () => {
    // @ts-expect-error: not a code of the union (npm run typecheck fails if this line compiles)
    const e = new TensorsafeError('NoSuchCode', 'x');
    expect(e.code).toBe('NoSuchCode');
    // …and nothing in src/ steps around it with a cast.
    const casts = SRC.flatMap((f) => [...withoutComments(f).matchAll(/\bas\s+\w*ErrorCode\b/g)].map(() => path.relative(ROOT, f)));
    expect(casts).toEqual([]);
  });

  it('error classes extend TensorsafeError; the few that extend plain Error are internal and say so', () => {
    const plain: string[] = [];
    for (const f of SRC) {
      const text = fs.readFileSync(f, 'utf8');
      for (const m of text.matchAll(/((?:\/\*\*(?:(?!\*\/)[\s\S])*\*\/\s*)?)(?:export )?class (\w+) extends Error\b/g)) {
        if (m[2] === 'TensorsafeError') continue;
        const doc = m[1]!.replace(/\s*\*\s*/g, ' ');
        if (!/internal control flow/i.test(doc) || !/never escapes|none escapes/i.test(doc)) plain.push(`${path.relative(ROOT, f)}: ${m[2]}`);
      }
    }
    expect(plain, 'an error that can reach a user must be a TensorsafeError with a code').toEqual([]);
  });
});
