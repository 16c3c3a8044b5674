import type { Io } from './output.js';

/** A command-line mistake: printed with a pointer to --help, exit code 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export interface Command {
  name: string;
  summary: string;
  /** Full --help text. */
  help: string;
  run(argv: string[], io: Io): Promise<number>;
}

/** Runs util.parseArgs (or any parser) and turns its errors into UsageErrors. */
export function parsing<T>(parse: () => T): T {
  try {
    return parse();
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

export const EXIT_OK = 0;
/** Something was invalid, refused or different. */
export const EXIT_FAIL = 1;
export const EXIT_USAGE = 2;
