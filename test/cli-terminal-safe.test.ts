import { describe, expect, it, vi } from 'vitest';
import { paint, processIo, terminalSafe } from '../src/cli/output.js';

/**
 * What the CLI prints holds text from files (tensor names, metadata, names in errors): a GGUF tensor
 * named `t\x1b]0;title\x07` must not retitle the terminal, nor C1's one-byte CSI (U+009B) move its
 * cursor. Every line goes through terminalSafe; the colours the CLI paints itself are kept.
 */
describe('terminalSafe', () => {
  it('escapes C0 (but line breaks and tabs), DEL and C1 controls as \\u00XX', () => {
    expect(terminalSafe('t\u001b]0;PWNED\u0007x')).toBe('t\\u001b]0;PWNED\\u0007x');
    expect(terminalSafe('a\u009b2Jb\u007fc\rd\u0000')).toBe('a\\u009b2Jb\\u007fc\\u000dd\\u0000');
    expect(terminalSafe('a\u001b[2Jb\u001b[8mhidden')).toBe('a\\u001b[2Jb\\u001b[8mhidden');
    expect(terminalSafe('line 1\n\tline 2 ü')).toBe('line 1\n\tline 2 ü');
  });

  it('keeps the colour codes paint writes', () => {
    const tty = { out: () => {}, err: () => {}, tty: true };
    for (const code of [1, 2, 31, 32, 33] as const) expect(terminalSafe(paint(tty, code, 'x'))).toBe(paint(tty, code, 'x'));
  });

  it('keeps a JSON line its value: the escapes are JSON escapes', () => {
    const line = JSON.stringify({ name: 'k\u009b31m\u007f' });
    expect(JSON.parse(terminalSafe(line))).toEqual({ name: 'k\u009b31m\u007f' });
  });

  it('is what processIo writes to stdout and stderr', () => {
    const out = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    const err = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      processIo.out('tensor t\u001b]0;x\u0007');
      processIo.err('error \u009b2J');
      expect(out).toHaveBeenCalledWith('tensor t\\u001b]0;x\\u0007\n');
      expect(err).toHaveBeenCalledWith('error \\u009b2J\n');
    } finally {
      out.mockRestore();
      err.mockRestore();
    }
  });
});
