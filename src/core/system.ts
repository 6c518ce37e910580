// The machine's resources, as a seam (like io.ts for files): how much memory a new computation may
// still take, and how many cores there are. The Node platform registers the real numbers
// (platform/node/system.ts); without a platform nothing is known, and the checks that use these
// numbers (memory admission, thread caps) only apply the limits a caller sets explicitly.

export interface SystemResources {
  /** Bytes a new allocation can take before the machine (or the container's cgroup) runs out. */
  availableMemory(): number;
  /** Logical cores this process may run on. */
  cores(): number;
}

let current: SystemResources = { availableMemory: () => Infinity, cores: () => Infinity };

export function setSystemResources(r: SystemResources): void {
  current = r;
}

export function systemResources(): SystemResources {
  return current;
}

/** 1536 MiB → "1.5 GiB": byte counts for messages, in binary units as `free -h` prints them. */
export function fmtBytes(bytes: number): string {
  if (!Number.isFinite(bytes)) return String(bytes);
  const units = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB'];
  let v = bytes;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${Math.round(v)} bytes` : `${v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2)} ${units[i]}`;
}
