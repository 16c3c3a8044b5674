/** Terminal output helpers shared by the commands. */

export interface Io {
  out(text: string): void;
  err(text: string): void;
  /** True when stdout is a terminal (colors, progress). */
  readonly tty: boolean;
}

/**
 * Every line the CLI prints can hold text from a file (tensor names, metadata keys and values, names in
 * error messages): a control character there would be obeyed by the terminal (an OSC title, a cursor move,
 * a screen clear, C1's one-byte CSI). Each is shown as a `\u00XX` escape, which keeps a JSON line's value
 * as it was; line breaks, tabs and the colour codes `paint` writes are kept.
 */
export function terminalSafe(text: string): string {
  return text.replace(/\u001b\[(?:0|1|2|31|32|33)m|[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g, (c) => (c.length > 1 ? c : `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`));
}

export const processIo: Io = {
  out: (t) => process.stdout.write(terminalSafe(t) + '\n'),
  err: (t) => process.stderr.write(terminalSafe(t) + '\n'),
  get tty() {
    return Boolean(process.stdout.isTTY) && !process.env['NO_COLOR'];
  },
};

/** The SGR codes `paint` writes (bold, dim, red, green, yellow, reset): the only escape sequences terminalSafe lets through. */
export function paint(io: Io, code: 1 | 2 | 31 | 32 | 33, text: string): string {
  return io.tty ? `\u001b[${code}m${text}\u001b[0m` : text;
}
export const green = (io: Io, t: string): string => paint(io, 32, t);
export const red = (io: Io, t: string): string => paint(io, 31, t);
export const dim = (io: Io, t: string): string => paint(io, 2, t);
export const bold = (io: Io, t: string): string => paint(io, 1, t);

/** Left-aligned columns, right-aligned where `right[i]`. */
export function table(rows: string[][], right: boolean[] = []): string[] {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, [...cell].length)));
  return rows.map((row) =>
    row
      .map((cell, i) => {
        const pad = ' '.repeat((widths[i] ?? 0) - [...cell].length);
        return right[i] ? pad + cell : i === row.length - 1 ? cell : cell + pad;
      })
      .join('  ')
      .trimEnd(),
  );
}

// Counts in words, shared with the page's reports (util/strings.ts).
export { grouped, plural } from '../util/strings.js';
