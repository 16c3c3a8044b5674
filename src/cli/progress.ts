import { formatBytes } from '../util/strings.js';

/** Redraws at most this often: terminals are slow and the work is not. */
const REDRAW_MS = 100;
const BAR_WIDTH = 30;

/**
 * A one-line progress bar on stderr, for terminals only: silent when stderr is not a TTY, in CI,
 * or when asked (--json). `update` is cheap to call on every chunk.
 */
export class ProgressBar {
  private last = 0;
  private readonly started = Date.now();
  private drawn = false;
  readonly enabled: boolean;

  constructor(
    private readonly stream: NodeJS.WriteStream = process.stderr,
    enabled = Boolean(stream.isTTY) && !process.env['CI'],
  ) {
    this.enabled = enabled;
  }

  update(label: string, done: number, total: number, force = false): void {
    if (!this.enabled) return;
    const now = Date.now();
    if (!force && now - this.last < REDRAW_MS) return;
    this.last = now;
    const fraction = total > 0 ? Math.min(1, done / total) : 1;
    const filled = Math.round(fraction * BAR_WIDTH);
    const seconds = (now - this.started) / 1000;
    const rate = seconds > 0 ? done / seconds : 0;
    const eta = rate > 0 && done < total ? ` ETA ${Math.ceil((total - done) / rate)}s` : '';
    const line = `${label} [${'█'.repeat(filled)}${'░'.repeat(BAR_WIDTH - filled)}] ${(fraction * 100).toFixed(0).padStart(3)}% ${formatBytes(done)}/${formatBytes(total)} ${formatBytes(rate)}/s${eta}`;
    const width = this.stream.columns ?? 100;
    this.stream.write(`\r${line.slice(0, width - 1)}\u001b[K`);
    this.drawn = true;
  }

  /** Clears the line so that what follows starts clean. */
  done(): void {
    if (this.drawn) this.stream.write('\r\u001b[K');
    this.drawn = false;
  }
}
