/** The CLI is the only writer to the terminal: these helpers keep machine output one JSON object a line. */
export interface Output {
  out(line: string): void;
  err(line: string): void;
  json(obj: unknown): void;
  /**
   * Transient status on stderr (a progress bar): only when stderr is a terminal. `undefined`
   * clears it. Absent: no progress is shown.
   */
  progress?(line: string | undefined): void;
  /** Standard input, for commands that read `-` (tests pass their own). */
  stdin?: AsyncIterable<Uint8Array>;
  /** Set when stdout was closed by the reader (e.g. `| head`): stop producing output. */
  closed?(): boolean;
}

let stdoutClosed = false;
process.stdout.on('error', () => {
  // A closed pipe (EPIPE, e.g. `| head`) or a broken terminal ends the output quietly.
  stdoutClosed = true;
});

let progressShown = false;

export const stdio: Output = {
  out: (line) => {
    if (!stdoutClosed) process.stdout.write(line + '\n');
  },
  err: (line) => {
    if (progressShown) stdio.progress!(undefined);
    process.stderr.write(line + '\n');
  },
  json: (obj) => {
    if (!stdoutClosed) process.stdout.write(JSON.stringify(obj) + '\n');
  },
  progress: (line) => {
    if (!process.stderr.isTTY) return;
    if (line === undefined) {
      if (progressShown) process.stderr.write('\r\x1b[K');
      progressShown = false;
      return;
    }
    const width = process.stderr.columns ?? 80;
    process.stderr.write('\r\x1b[K' + line.slice(0, Math.max(10, width - 1)));
    progressShown = true;
  },
  stdin: process.stdin,
  closed: () => stdoutClosed,
};
