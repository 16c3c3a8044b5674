import { formatBytes } from '../util/strings.js';
import { onInterrupt, type InterruptReason } from '../node/interrupt.js';

/** Redraws at most this often: terminals are slow and the work is not. */
const REDRAW_MS = 100;
/** The bar's width when the terminal has room for everything. */
const BAR_WIDTH = 30;
/** Below this the bar is dropped rather than shrunk further: a few cells say nothing. */
const MIN_BAR_WIDTH = 5;
/** The width assumed when the stream does not say (not a terminal, or a pseudo-terminal of size 0). */
const DEFAULT_COLUMNS = 100;

/** What one progress line shows. */
export interface ProgressFields {
  label: string;
  done: number;
  total: number;
  /** Bytes per second, when known. */
  rate?: number;
  /** Seconds left, when known. */
  eta?: number;
}

/**
 * The progress line, fitted into `width` characters by dropping whole fields, never by cutting
 * one: first the rate, then the ETA, then the bar shrinks (down to MIN_BAR_WIDTH, then goes), then
 * the byte counts. Only a label wider than the terminal itself is cut.
 */
export function progressLine(f: ProgressFields, width: number): string {
  const fraction = f.total > 0 ? Math.min(1, f.done / f.total) : 1;
  const bar = (n: number): string => {
    const filled = Math.round(fraction * n);
    return `[${'█'.repeat(filled)}${'░'.repeat(n - filled)}]`;
  };
  const percent = `${(fraction * 100).toFixed(0).padStart(3)}%`;
  const bytes = `${formatBytes(f.done)}/${formatBytes(f.total)}`;
  const rate = f.rate !== undefined && f.rate > 0 ? `${formatBytes(f.rate)}/s` : undefined;
  const eta = f.eta !== undefined ? `ETA ${Math.ceil(f.eta)}s` : undefined;
  const join = (parts: (string | undefined)[]): string => parts.filter((p) => p !== undefined).join(' ');
  const fits = (line: string): boolean => line.length <= width;

  const candidates = [
    join([f.label, bar(BAR_WIDTH), percent, bytes, rate, eta]),
    join([f.label, bar(BAR_WIDTH), percent, bytes, eta]),
    join([f.label, bar(BAR_WIDTH), percent, bytes]),
  ];
  for (const line of candidates) if (fits(line)) return line;
  // The bar takes what room is left, down to MIN_BAR_WIDTH.
  const rest = join([f.label, '[]', percent, bytes]).length;
  const room = width - rest;
  if (room >= MIN_BAR_WIDTH) return join([f.label, bar(Math.min(BAR_WIDTH, room)), percent, bytes]);
  for (const line of [join([f.label, percent, bytes]), join([f.label, percent])]) if (fits(line)) return line;
  return join([f.label, percent]).slice(0, Math.max(0, width));
}

/**
 * A one-line progress bar on stderr, for terminals only: silent when stderr is not a TTY, in CI,
 * or when asked (--json). `update` is cheap to call on every chunk. The line fits the terminal's
 * width; an interruption (Ctrl-C) ends the line so that what follows starts on a new one.
 */
export class ProgressBar {
  private last = -Infinity;
  private readonly started: number;
  private drawn = false;
  private offInterrupt: (() => void) | undefined;
  readonly enabled: boolean;

  constructor(
    private readonly stream: NodeJS.WriteStream = process.stderr,
    enabled = Boolean(stream.isTTY) && !process.env['CI'],
    private readonly clock: () => number = Date.now,
  ) {
    this.enabled = enabled;
    this.started = clock();
  }

  update(label: string, done: number, total: number, force = false): void {
    if (!this.enabled) return;
    const now = this.clock();
    if (!force && now - this.last < REDRAW_MS) return;
    this.last = now;
    const seconds = (now - this.started) / 1000;
    const rate = seconds > 0 ? done / seconds : 0;
    const eta = rate > 0 && done < total ? (total - done) / rate : undefined;
    // One column is left free: writing into the last one wraps on some terminals.
    const width = (this.stream.columns || DEFAULT_COLUMNS) - 1;
    this.stream.write(`\r${progressLine({ label, done, total, rate, eta }, width)}\u001b[K`);
    if (!this.drawn) {
      this.drawn = true;
      this.offInterrupt = onInterrupt((reason) => this.interrupt(reason));
    }
  }

  /** Clears the line so that what follows starts clean. */
  done(): void {
    if (this.drawn) this.stream.write('\r\u001b[K');
    this.release();
  }

  /** Ends the half-drawn line (the run was interrupted): what is printed next starts on its own line. */
  interrupt(reason: InterruptReason = 'SIGINT'): void {
    if (this.drawn) {
      try {
        // A closed pipe ends the run quietly: the line is cleared rather than kept.
        this.stream.write(reason === 'EPIPE' ? '\r\u001b[K' : '\n');
      } catch {
        // the terminal is gone
      }
    }
    this.release();
  }

  private release(): void {
    this.drawn = false;
    this.offInterrupt?.();
    this.offInterrupt = undefined;
  }
}
