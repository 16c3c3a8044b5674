import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll } from 'vitest';

const dirs: string[] = [];
// Registered when a test file imports this helper: runs after that file's tests.
afterAll(() => {
  for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

/** A fresh `tensorsafe-<name>-*` folder in the temporary directory, removed after the test file. */
export function tempDir(name: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `tensorsafe-${name}-`));
  dirs.push(dir);
  return dir;
}
