// Warnings the library gives the way diffusers logs them (a truncated prompt, a config it had to
// deprecate-correct). By default they go to console.warn; the CLI and tests can capture them.

export type WarningHandler = (message: string) => void;

let handler: WarningHandler = (message) => console.warn(`latentlab: ${message}`);

export function setWarningHandler(h: WarningHandler): WarningHandler {
  const previous = handler;
  handler = h;
  return previous;
}

export function warn(message: string): void {
  handler(message);
}
