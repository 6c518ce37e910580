// Warnings the library gives the way diffusers logs them (a truncated prompt, a config it had to
// deprecate-correct). By default they go to console.warn; the CLI and tests can capture them.
// A pipeline call may pass its own handler (the `onWarning` call option): a server running two
// requests at once then files each warning under its own request, not under whichever set the
// global handler last.

export type WarningHandler = (message: string) => void;

let handler: WarningHandler = (message) => console.warn(`latentlab: ${message}`);

export function setWarningHandler(h: WarningHandler): WarningHandler {
  const previous = handler;
  handler = h;
  return previous;
}

/** Gives a warning to `own` (a call's handler) when there is one, else to the global handler. */
export function warn(message: string, own?: WarningHandler): void {
  (own ?? handler)(message);
}
