// Progress of a Hub download, as events for library users (`onProgress`) and a one-line terminal
// renderer (redrawn in place on a TTY, like huggingface_hub's tqdm bars; silent otherwise, except
// for warnings, which are always printed). Portable: the caller hands in the stream (process.stderr).

/** What resolveModel reports while it works. */
export type HubProgressEvent =
  /** The file list is known: `files` are all the files used, `download` those not cached yet. */
  | { type: 'plan'; repoId: string; revision: string; commit: string; files: readonly string[]; download: readonly { path: string; size: number }[]; totalBytes: number }
  /** Bytes of the file being downloaded (`fileBytes` includes a resumed part) and of the whole plan. */
  | { type: 'download'; path: string; fileBytes: number; fileSize: number; doneBytes: number; totalBytes: number }
  | { type: 'file-done'; path: string; size: number }
  /** The snapshot folder is ready; `downloadedBytes` is 0 when everything came from the cache. */
  | { type: 'done'; folder: string; commit: string; downloadedBytes: number; offline: boolean }
  /** Something the user should know (the Hub was unreachable and the cache was used, a variant fell back, ...). */
  | { type: 'warning'; message: string };

export type HubProgressCallback = (event: HubProgressEvent) => void;

/** Minimal view of a terminal stream (process.stderr fits). */
export interface ProgressStream {
  readonly isTTY?: boolean;
  readonly columns?: number;
  write(text: string): unknown;
}

const REDRAW_MS = 100;

/** "1.7 GB", "530 kB", "12 B" (decimal units, as the Hub's web pages show sizes). */
export function formatBytes(n: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let i = 0;
  let v = n;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(v >= 100 ? 0 : 1)} ${units[i]}`;
}

/**
 * A progress callback that draws one bar on `stream` when it is a TTY:
 * `unet/diffusion_pytorch_model.fp16.safetensors  [########------]  45%  780 MB / 1.7 GB  3/12 files  12.3 MB/s`
 */
export function terminalProgress(stream: ProgressStream): HubProgressCallback {
  let last = 0;
  let started = 0;
  let filesDone = 0;
  let fileCount = 0;
  let drawn = false;
  const clear = () => {
    if (drawn) stream.write('\r\x1b[2K');
    drawn = false;
  };
  return (e) => {
    if (e.type === 'warning') {
      clear();
      stream.write(`warning: ${e.message}\n`);
      return;
    }
    if (!stream.isTTY) return;
    if (e.type === 'plan') {
      fileCount = e.download.length;
      started = Date.now();
      if (fileCount > 0) stream.write(`Downloading ${e.repoId} (${e.revision} = ${e.commit.slice(0, 10)}): ${fileCount} files, ${formatBytes(e.totalBytes)}\n`);
    } else if (e.type === 'file-done') {
      filesDone++;
    } else if (e.type === 'download') {
      const now = Date.now();
      if (now - last < REDRAW_MS && e.fileBytes < e.fileSize) return;
      last = now;
      const width = Math.max(10, Math.min(30, (stream.columns ?? 80) - 80));
      const frac = e.totalBytes > 0 ? e.doneBytes / e.totalBytes : 1;
      const bar = '#'.repeat(Math.round(frac * width)).padEnd(width, '-');
      const rate = e.doneBytes / Math.max(0.001, (now - started) / 1000);
      const name = e.path.length > 40 ? `…${e.path.slice(-39)}` : e.path;
      stream.write(`\r\x1b[2K${name}  [${bar}] ${String(Math.floor(frac * 100)).padStart(3)}%  ${formatBytes(e.doneBytes)} / ${formatBytes(e.totalBytes)}  ${filesDone}/${fileCount} files  ${formatBytes(rate)}/s`);
      drawn = true;
    } else if (e.type === 'done') {
      clear();
      if (e.downloadedBytes > 0) stream.write(`Downloaded ${formatBytes(e.downloadedBytes)} to ${e.folder}\n`);
    }
  };
}
