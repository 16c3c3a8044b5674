import { describe, expect, it } from 'vitest';
import { ProgressBar, progressLine } from '../src/cli/progress.js';
import { runInterruptCallbacks } from '../src/node/interrupt.js';

/** A terminal of `columns` columns that records what is written. */
function fakeTerminal(columns: number | undefined): NodeJS.WriteStream & { text: string } {
  const stream = {
    columns,
    isTTY: true,
    text: '',
    write(chunk: string): boolean {
      stream.text += chunk;
      return true;
    },
  };
  return stream as unknown as NodeJS.WriteStream & { text: string };
}

/** The visible text of the last redraw (between the last \r and the erase-line sequence). */
const lastLine = (text: string): string => text.slice(text.lastIndexOf('\r') + 1).replace('\u001b[K', '');

/** 229 MB of 1.23 GB after 10 s: 22.9 MB/s, 44 s to go. */
function drawn(columns: number | undefined): string {
  let now = 1_000_000;
  const term = fakeTerminal(columns);
  const bar = new ProgressBar(term, true, () => now);
  now += 10_000;
  bar.update('writing  ', 229e6, 1.23e9);
  bar.done();
  return lastLine(term.text.slice(0, term.text.lastIndexOf('\r')));
}

describe('the progress line fits the terminal by dropping whole fields', () => {
  it('shows everything when there is room', () => {
    expect(drawn(120)).toBe(`writing   [${'█'.repeat(6)}${'░'.repeat(24)}]  19% 229 MB/1.23 GB 22.9 MB/s ETA 44s`);
  });

  it('at 80 columns drops the rate, and never cuts a unit', () => {
    const line = drawn(80);
    expect(line).toBe(`writing   [${'█'.repeat(6)}${'░'.repeat(24)}]  19% 229 MB/1.23 GB ETA 44s`);
    expect(line.length).toBeLessThan(80);
  });

  it('then drops the ETA, then shrinks the bar, then drops it, then the byte counts', () => {
    const at = (columns: number): string => drawn(columns);
    expect(at(65)).toBe(`writing   [${'█'.repeat(6)}${'░'.repeat(24)}]  19% 229 MB/1.23 GB`);
    expect(at(50)).toBe(`writing   [${'█'.repeat(3)}${'░'.repeat(14)}]  19% 229 MB/1.23 GB`);
    expect(at(36)).toBe('writing    19% 229 MB/1.23 GB');
    expect(at(20)).toBe('writing    19%');
    for (let columns = 1; columns <= 130; columns++) {
      const line = at(columns);
      expect(line.length).toBeLessThan(Math.max(columns, 1));
      // Whole fields only: each unit keeps its number.
      expect([columns, /MB|GB|ETA|\/s/.test(line.replace(/\d+(\.\d+)? (MB|GB)(\/s)?|ETA \d+s/g, ''))]).toEqual([columns, false]);
    }
  });

  it('assumes 100 columns when the stream does not say', () => {
    expect(drawn(undefined)).toBe(drawn(100));
  });

  it('progressLine cuts only a label wider than the terminal', () => {
    expect(progressLine({ label: 'a-very-long-label', done: 1, total: 2 }, 10)).toBe('a-very-lon');
  });
});

describe('an interruption ends the progress line', () => {
  it('a signal ends the half-drawn line with a newline; the handler then prints "interrupted"', async () => {
    const term = fakeTerminal(80);
    const bar = new ProgressBar(term, true, () => 0);
    bar.update('writing  ', 1, 2);
    expect(term.text.endsWith('\n')).toBe(false);
    await runInterruptCallbacks('SIGINT');
    expect(term.text.endsWith('\u001b[K\n')).toBe(true);
    // Once only, and not after done().
    await runInterruptCallbacks('SIGINT');
    expect(term.text.match(/\n/g)).toHaveLength(1);
  });

  it('a closed pipe clears the line instead', async () => {
    const term = fakeTerminal(80);
    const bar = new ProgressBar(term, true, () => 0);
    bar.update('writing  ', 1, 2);
    await runInterruptCallbacks('EPIPE');
    expect(term.text.endsWith('\r\u001b[K')).toBe(true);
  });

  it('a finished bar writes nothing on interruption', async () => {
    const term = fakeTerminal(80);
    const bar = new ProgressBar(term, true, () => 0);
    bar.update('writing  ', 1, 2);
    bar.done();
    const before = term.text;
    await runInterruptCallbacks('SIGINT');
    expect(term.text).toBe(before);
  });
});
