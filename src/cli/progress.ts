/**
 * A one-line progress indicator on stderr, shown only when stderr is a terminal (CI logs and pipes
 * stay clean) and only once the work has run for a second (a quick command does not flicker).
 * Redraws at most ten times a second.
 */
export interface Progress {
  /** `total` undefined: a count without a bar. */
  update(done: number, total?: number): void;
  done(): void;
}

const SILENT: Progress = { update() {}, done() {} };

export interface ProgressOptions {
  /** Nothing is drawn before this many milliseconds (default 1000) from `since`. */
  delayMs?: number;
  /** When the command started (default: when this indicator was made), so that each stage of a long command shows at once. */
  since?: number;
  now?: () => number;
}

export function progress(label: string, stream: Pick<NodeJS.WriteStream, 'isTTY' | 'write'> & { columns?: number } = process.stderr, opts: ProgressOptions = {}): Progress {
  if (!stream.isTTY) return SILENT;
  const now = opts.now ?? Date.now;
  const start = opts.since ?? now();
  const delay = opts.delayMs ?? 1000;
  let last = 0;
  let shown = false;
  return {
    update(done, total) {
      const t = now();
      if (t - start < delay) return;
      if (t - last < 100 && (total === undefined || done < total)) return;
      last = t;
      shown = true;
      const seconds = `${Math.floor((t - start) / 1000)} s`;
      let line: string;
      if (total === undefined) line = `${label} ${done.toLocaleString('en')}  ${seconds}`;
      else {
        const width = 30;
        const filled = total > 0 ? Math.round((Math.min(done, total) / total) * width) : 0;
        line = `${label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done.toLocaleString('en')}/${total.toLocaleString('en')}  ${seconds}`;
      }
      const cols = stream.columns ?? 80;
      stream.write(`\r\x1b[K${line.slice(0, Math.max(10, cols - 1))}`);
    },
    done() {
      if (shown) stream.write('\r\x1b[K');
      shown = false;
    },
  };
}
