// What every command run shares: where text goes, warnings, the --json report and Ctrl-C.
//
// stdout carries results only: the human-readable summary, or — with --json — exactly one JSON
// object and nothing else, so `latentlab generate … --json | jq` always works. Everything for the
// person watching (warnings, notes such as "resized the input", progress bars) goes to stderr.
//
// Ctrl-C depends on what the command is doing (`phase`):
//   'prepare'  (reading inputs, loading or downloading the model): quit at once — nothing of ours is
//              half-written, and a Hub download resumes from its .incomplete file next time;
//   'compute'  abort the AbortSignal that the pipeline checks between steps; the command then stops
//              without writing its outputs. A second Ctrl-C quits at once, even inside a long
//              ONNX Runtime run (which runs in its own thread: quitNow below);
//   'write'    let the (atomic, millisecond) writes finish, so a batch is never left half-saved.

import { LatentlabError, setWarningHandler } from '../node.js';
import { EXIT } from './errors.js';

export interface Streams {
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown; isTTY?: boolean; columns?: number };
}

/**
 * Ends the process at once, as the default Ctrl-C would. process.exit() is not enough: it waits for
 * the ONNX Runtime thread (platform/node/ort-thread.ts), which cannot stop inside a native run (~15 s
 * at 1024², then an abort). So the handler is removed and SIGINT raised again: the kernel ends the
 * process, and the shell sees status 130 (128 + SIGINT) as before. Nothing of ours is half-written —
 * every output is a temporary file until its rename.
 */
function quitNow(): never {
  process.removeAllListeners('SIGINT');
  process.kill(process.pid, 'SIGINT');
  // Not reached on POSIX; where a signal cannot be raised this way (Windows), exit normally.
  process.exit(EXIT.cancelled);
}

export class Session {
  readonly warnings: string[] = [];
  private readonly controller = new AbortController();
  private readonly onSigint = () => this.interrupt();
  private readonly said = new Set<string>();
  phase: 'prepare' | 'compute' | 'write' = 'prepare';

  constructor(
    readonly json: boolean,
    readonly streams: Streams = process,
  ) {
    setWarningHandler((message) => this.warn(message));
    process.on('SIGINT', this.onSigint);
  }

  /** Throws CANCELLED if Ctrl-C was pressed (call before starting to write). */
  checkCancelled(): void {
    if (this.signal.aborted) throw new LatentlabError('CANCELLED', 'cancelled', { cause: this.signal.reason });
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** A warning: printed on stderr and listed in the JSON report. */
  warn(message: string): void {
    this.warnings.push(message);
    this.streams.stderr.write(`latentlab: warning: ${message}\n`);
  }

  /** Like warn, but only the first time this exact message comes up. */
  warnOnce(message: string): void {
    if (this.said.has(message)) return;
    this.said.add(message);
    this.warn(message);
  }

  /** A note for the person watching (stderr, also in --json mode). */
  note(message: string): void {
    this.streams.stderr.write(`latentlab: ${message}\n`);
  }

  /** A line of the human-readable result (stdout; suppressed in --json mode). */
  print(line = ''): void {
    if (!this.json) this.streams.stdout.write(`${line}\n`);
  }

  /** The one JSON object of --json mode (warnings added), on stdout. */
  report(object: Record<string, unknown>, stringify: (value: unknown) => string): void {
    if (this.json) this.streams.stdout.write(`${stringify({ ...object, warnings: this.warnings })}\n`);
  }

  private interrupt(): void {
    if (this.phase === 'write') {
      this.streams.stderr.write('\nlatentlab: finishing the files being written\n');
      return;
    }
    if (this.phase === 'prepare' || this.controller.signal.aborted) {
      this.streams.stderr.write('\nlatentlab: cancelled\n');
      quitNow();
    }
    this.streams.stderr.write('\nlatentlab: cancelling after the current step (Ctrl-C again to quit at once)\n');
    this.controller.abort(new Error('interrupted by SIGINT'));
  }

  close(): void {
    process.off('SIGINT', this.onSigint);
  }
}
