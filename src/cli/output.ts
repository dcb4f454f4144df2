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
  /** Writes what `out` and `json` may still hold back; called when a command ends. */
  flush?(): void;
}

let stdoutClosed = false;
process.stdout.on('error', () => {
  // A closed pipe (EPIPE, e.g. `| head`) or a broken terminal ends the output quietly.
  stdoutClosed = true;
});

let progressShown = false;

/**
 * Lines for stdout not written yet. Writes to a file or pipe are synchronous, one system call
 * each: a scan with 260,000 detections spent more time writing them one by one than finding them.
 * So lines are gathered while the current piece of work runs (a scan evaluates a whole chunk of
 * input at once) and written when it yields to the event loop, or every 64 KiB: never held while
 * waiting for more input (`tail -f log | rulec scan -` reports each detection as it comes). A
 * terminal gets each line at once. SIGINT, SIGTERM and SIGHUP write what is held, then end the
 * process as they would have.
 */
let pending = '';
let scheduled = false;
let guarded = false;
const BLOCK = 1 << 16;

function write(text: string): void {
  if (stdoutClosed) return;
  if (process.stdout.isTTY) {
    process.stdout.write(text);
    return;
  }
  pending += text;
  if (pending.length >= BLOCK) flush();
  else if (!scheduled) {
    scheduled = true;
    setImmediate(flush);
    guardSignals();
  }
}

function flush(): void {
  scheduled = false;
  if (pending === '') return;
  if (!stdoutClosed) process.stdout.write(pending);
  pending = '';
}

function guardSignals(): void {
  if (guarded) return;
  guarded = true;
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      flush();
      // The listener is gone: the signal now does what it does by default.
      process.kill(process.pid, signal);
    });
  }
}

export const stdio: Output = {
  out: (line) => write(line + '\n'),
  err: (line) => {
    if (progressShown) stdio.progress!(undefined);
    // What stdout holds back goes first, so that a terminal shows both in the order they came.
    flush();
    process.stderr.write(line + '\n');
  },
  json: (obj) => write(JSON.stringify(obj) + '\n'),
  flush,
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
