// Pause and single-step for the denoising loop. The pipeline awaits its step callback, so a
// callback that waits on this gate holds the loop between two scheduler steps: nothing is lost,
// and "Next step" lets exactly one more step run.

export interface Stepper {
  setPaused(paused: boolean): void;
  stepOnce(): void;
  /** Resolves at once when running; when paused, on the next stepOnce() or resume. */
  wait(): Promise<void>;
}

export function stepper(): Stepper {
  let paused = false;
  let release: (() => void) | undefined;
  return {
    setPaused(p) {
      paused = p;
      if (!p) release?.();
    },
    stepOnce() {
      release?.();
    },
    wait() {
      if (!paused) return Promise.resolve();
      return new Promise<void>((resolve) => {
        release = () => {
          release = undefined;
          resolve();
        };
      });
    },
  };
}
