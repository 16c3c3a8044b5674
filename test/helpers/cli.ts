import { main } from '../../src/cli/main.js';
import type { Io } from '../../src/cli/output.js';

/** Runs the CLI in-process and captures what it prints. */
export async function runCli(...argv: string[]): Promise<{ code: number; stdout: string; stderr: string; lines: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const io: Io = { out: (t) => out.push(t), err: (t) => err.push(t), tty: false };
  const code = await main(argv, io);
  const stdout = out.join('\n');
  return { code, stdout, stderr: err.join('\n'), lines: stdout.split('\n').filter((l) => l.length > 0) };
}
