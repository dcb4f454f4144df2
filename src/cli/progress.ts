/**
 * A one-line progress indicator on stderr, shown only when stderr is a terminal (CI logs and pipes
 * stay clean). Redraws at most ten times a second.
 */
export interface Progress {
  update(done: number, total: number): void;
  done(): void;
}

const SILENT: Progress = { update() {}, done() {} };

export function progress(label: string, stream: NodeJS.WriteStream = process.stderr): Progress {
  if (!stream.isTTY) return SILENT;
  let last = 0;
  let shown = false;
  return {
    update(done, total) {
      const now = Date.now();
      if (now - last < 100 && done < total) return;
      last = now;
      shown = true;
      const width = 30;
      const filled = total > 0 ? Math.round((done / total) * width) : 0;
      stream.write(`\r${label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total}`);
    },
    done() {
      if (shown) stream.write('\r\x1b[K');
    },
  };
}
