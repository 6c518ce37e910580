// Denoising progress on stderr (--progress bar|lines|none). On a terminal, a bar redrawn in place
// (downloads have their own bar, drawn by the Hub client); elsewhere — a log, a pipe, CI — one plain
// line every tenth of the run, so a long run is never silent and a log never fills with redraws:
//
//   denoising  12/50 [#######-------------------]  24%  3.10 it/s  ETA 0:12
//
// "it/s" counts loop iterations (UNet calls with guidance batched in), as diffusers' tqdm bar does.

export interface ProgressStream {
  readonly isTTY?: boolean;
  readonly columns?: number;
  write(text: string): unknown;
}

const REDRAW_MS = 100;

/** 75 s → "1:15", 3725 s → "1:02:05". */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  const s = Math.max(0, Math.round(seconds));
  const [h, m, r] = [Math.floor(s / 3600), Math.floor((s % 3600) / 60), s % 60];
  const mm = h > 0 ? String(m).padStart(2, '0') : String(m);
  return `${h > 0 ? `${h}:` : ''}${mm}:${String(r).padStart(2, '0')}`;
}

/**
 * One line of the bar for `done` of `total` after `elapsed` seconds; `initial` steps were done
 * before this run (a resumed training: they do not count for the rate), `suffix` follows (loss, lr).
 */
export function progressLine(label: string, done: number, total: number, elapsed: number, columns = 80, o: { initial?: number; suffix?: string } = {}): string {
  const rate = elapsed > 0 ? (done - (o.initial ?? 0)) / elapsed : 0;
  const eta = rate > 0 ? (total - done) / rate : Infinity;
  const counter = `${String(done).padStart(String(total).length)}/${total}`;
  const tail = `${String(Math.floor((100 * done) / Math.max(1, total))).padStart(3)}%  ${rate.toFixed(2)} it/s  ETA ${formatDuration(eta)}${o.suffix ? `  ${o.suffix}` : ''}`;
  const width = Math.max(10, Math.min(30, columns - label.length - counter.length - tail.length - 8));
  const filled = Math.round((width * done) / Math.max(1, total));
  return `${label}  ${counter} [${'#'.repeat(filled).padEnd(width, '-')}] ${tail}`;
}

/** How progress is shown: a bar redrawn in place, a plain line every few steps (logs, CI), or nothing. */
export type ProgressMode = 'bar' | 'lines' | 'none';
export const PROGRESS_MODES: readonly ProgressMode[] = ['bar', 'lines', 'none'];

/** The default: the bar on a terminal, lines anywhere else (a log file, a pipe, CI). */
export function defaultProgressMode(stream: ProgressStream): ProgressMode {
  return stream.isTTY ? 'bar' : 'lines';
}

/** Lines mode prints about ten lines per run, and at least one every LINE_MS while steps complete. */
const LINE_MS = 10_000;

export class StepProgress {
  private started = 0;
  private last = 0;
  private drawn = false;

  constructor(
    private readonly stream: ProgressStream,
    /** May change once the loop knows its length (PNDM's extra UNet call: cli/generation.ts). */
    public label = 'denoising',
    private readonly now: () => number = () => performance.now(),
    private readonly mode: ProgressMode = defaultProgressMode(stream),
  ) {}

  private initial = 0;

  /** `initial`: steps already done before this run (a resumed training). */
  start(initial = 0): void {
    this.started = this.now();
    this.last = this.started;
    this.initial = initial;
  }

  update(done: number, total: number, suffix?: string): void {
    const t = this.now();
    const elapsed = (t - this.started) / 1000;
    if (this.mode === 'lines') {
      const every = Math.max(1, Math.ceil(total / 10));
      if (done % every !== 0 && done !== total && t - this.last < LINE_MS) return;
      this.last = t;
      this.stream.write(`latentlab: ${progressLine(this.label, done, total, elapsed, 100, { initial: this.initial, suffix })}\n`);
      return;
    }
    if (this.mode !== 'bar') return;
    if (t - this.last < REDRAW_MS && done < total) return;
    this.last = t;
    this.stream.write(`\r\x1b[2K${progressLine(this.label, done, total, elapsed, this.stream.columns || 80, { initial: this.initial, suffix })}`);
    this.drawn = true;
  }

  /** Ends the bar's line (keeps the final state visible). */
  finish(): void {
    if (this.drawn) this.stream.write('\n');
    this.drawn = false;
  }
}
