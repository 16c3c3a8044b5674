/** Terminal output helpers shared by the commands. */

export interface Io {
  out(text: string): void;
  err(text: string): void;
  /** True when stdout is a terminal (colors, progress). */
  readonly tty: boolean;
}

export const processIo: Io = {
  out: (t) => process.stdout.write(t + '\n'),
  err: (t) => process.stderr.write(t + '\n'),
  get tty() {
    return Boolean(process.stdout.isTTY) && !process.env['NO_COLOR'];
  },
};

export function paint(io: Io, code: number, text: string): string {
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

/** `1 tensor`, `2 tensors`, `1,234 tensors`. */
export function plural(n: number, word: string, many = `${word}s`): string {
  return `${grouped(n)} ${n === 1 ? word : many}`;
}

/** 1234567 → "1,234,567" (as toLocaleString('en-US'), whose first call costs ~30 ms of start-up loading ICU). */
export function grouped(n: number): string {
  if (!Number.isSafeInteger(n)) return n.toLocaleString('en-US');
  const digits = String(Math.abs(n)).replace(/\B(?=(\d{3})+$)/g, ',');
  return n < 0 ? `-${digits}` : digits;
}
