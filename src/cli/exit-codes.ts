import { isTensorsafeError } from '../errors.js';

/**
 * One exit-code table for every command (README "Exit status"; `tensorsafe --help`):
 * a script can tell "the answer is no" (1) from "I was called wrong" (2) from "I could not read or
 * write what I was given" (3) without parsing text.
 */
export const EXIT_OK = 0;
/** A finding or a failed check: scan found something, validate an invalid file, verify a difference, a refused conversion. */
export const EXIT_FINDING = 1;
/** The command line is wrong: unknown command or option, missing or extra arguments, an option value that is not valid. */
export const EXIT_USAGE = 2;
/** Bad input: a file that is missing, unreadable, malformed or not what the command takes; an output that cannot be written. */
export const EXIT_BAD_INPUT = 3;
/** A defect in tensorsafe itself (EX_SOFTWARE): never expected; the message asks for a report. */
export const EXIT_INTERNAL = 70;

/**
 * Error codes that are a finding or a failed check (exit 1) rather than bad input (exit 3): the file
 * was read and judged, and the judgement is "no".
 */
const FINDING_CODES = new Set(['UnsafeFile', 'UnsafeGlobal', 'UnsupportedGlobal', 'VerificationFailed']);

/** The exit code for an error a command could not get past. */
export function exitCodeOf(e: unknown): number {
  return isTensorsafeError(e) ? exitCodeForCode(e.code) : EXIT_INTERNAL;
}

/** The same, from an error's code alone (batch results carry codes, not errors). */
export function exitCodeForCode(code: string): number {
  if (code === 'InternalError') return EXIT_INTERNAL;
  return FINDING_CODES.has(code) ? EXIT_FINDING : EXIT_BAD_INPUT;
}

/** The worst of several results: internal error over bad input over findings over success. */
export function worstExit(codes: Iterable<number>): number {
  const rank = (c: number): number => [EXIT_OK, EXIT_FINDING, EXIT_USAGE, EXIT_BAD_INPUT, EXIT_INTERNAL].indexOf(c);
  let worst = EXIT_OK;
  for (const c of codes) if (rank(c) > rank(worst)) worst = c;
  return worst;
}

/** The table, as printed by `tensorsafe --help`. */
export const EXIT_TABLE = `Exit status (the same for every command):
  0    success
  1    a finding or a failed check (scan found something, validate found an
       invalid file, verify found a difference, verify-signature a changed
       file or a bad signature, convert refused a dangerous file or its
       output did not verify)
  2    usage error (unknown command or option, wrong arguments, bad value)
  3    bad input (a file missing, unreadable, malformed or not what the
       command takes; an output that exists or cannot be written)
  70   internal error (a bug in tensorsafe: please report it)
  129, 130, 143  interrupted by SIGHUP, SIGINT (Ctrl-C), SIGTERM
  141  stdout or stderr closed early (a pipe into head), as SIGPIPE`;

/** A command's "Exit status" paragraph: the shared numbers, with what each means for that command. */
export function exitStatusHelp(meaning: { ok: string; finding?: string; badInput?: string }): string {
  const lines = [
    'Exit status:',
    `  0  ${meaning.ok}`,
    ...(meaning.finding ? [`  1  ${meaning.finding}`] : []),
    '  2  usage error',
    `  3  ${meaning.badInput ?? 'bad input: a file missing, unreadable or malformed'}`,
    '(the same table for every command: tensorsafe --help)',
  ];
  return lines.join('\n');
}
