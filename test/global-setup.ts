import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/**
 * The test run gets a temporary directory of its own (TMPDIR, inherited by the test processes and
 * what they spawn), so that what the tests leave behind is theirs and not another run's. At the end
 * every `tensorsafe-*` entry left in it fails the run: tests must leave nothing in the temporary
 * directory. The rest (tools' caches) is removed with it.
 */
export default function setup(): () => void {
  const outer = process.env['TMPDIR'];
  const run = fs.mkdtempSync(path.join(os.tmpdir(), 'tensorsafe-test-run-'));
  process.env['TMPDIR'] = run;
  return () => {
    const left = fs.readdirSync(run).filter((name) => name.startsWith('tensorsafe-'));
    fs.rmSync(run, { recursive: true, force: true });
    if (outer === undefined) delete process.env['TMPDIR'];
    else process.env['TMPDIR'] = outer;
    if (left.length > 0) {
      // vitest reports an error thrown here but still exits 0: set the exit code too.
      process.exitCode = 1;
      throw new Error(`the tests left ${left.length} folder(s) in the temporary directory: ${left.join(', ')}`);
    }
  };
}
