/**
 * Diagnostics are data, never exceptions crossing a layer boundary: every stage collects them with a
 * 1-based source position so the CLI can print `path:line:col: message` and `--json` can carry them.
 */
export type Severity = 'error' | 'warning';

export interface Position {
  line: number;
  column: number;
}

export interface Diagnostic extends Position {
  severity: Severity;
  message: string;
  /** Stable identifier of the problem class, e.g. `unknown-modifier`. */
  code: string;
}

export const NO_POSITION: Position = { line: 1, column: 1 };

export function error(code: string, message: string, at: Position | undefined): Diagnostic {
  const p = at ?? NO_POSITION;
  return { severity: 'error', code, message, line: p.line, column: p.column };
}

export function warning(code: string, message: string, at: Position | undefined): Diagnostic {
  const p = at ?? NO_POSITION;
  return { severity: 'warning', code, message, line: p.line, column: p.column };
}

export function hasErrors(diags: readonly Diagnostic[]): boolean {
  return diags.some((d) => d.severity === 'error');
}

/** `path:line:col: severity: message`, the format editors and CI annotators understand. */
export function formatDiagnostic(path: string, d: Diagnostic): string {
  return `${path}:${d.line}:${d.column}: ${d.severity}: ${d.message}`;
}

/**
 * Thrown inside a stage to abort one rule with a located message. Caught at the stage boundary and
 * turned into a Diagnostic; it never reaches the user as a stack trace.
 */
export class RuleError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly at: Position | undefined,
  ) {
    super(message);
    this.name = 'RuleError';
  }

  toDiagnostic(): Diagnostic {
    return error(this.code, this.message, this.at);
  }
}

/** "did you mean" helper for messages that name the valid choices. */
export function closest(word: string, choices: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  const w = word.toLowerCase();
  for (const c of choices) {
    const d = editDistance(w, c.toLowerCase());
    if (d < bestD) {
      bestD = d;
      best = c;
    }
  }
  return best !== undefined && bestD <= Math.max(2, Math.floor(word.length / 3)) ? best : undefined;
}

function editDistance(a: string, b: string): number {
  const prev = new Array<number>(b.length + 1);
  for (let j = 0; j <= b.length; j++) prev[j] = j;
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0]!;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = prev[j]!;
      prev[j] = Math.min(prev[j]! + 1, prev[j - 1]! + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = tmp;
    }
  }
  return prev[b.length]!;
}

export function listChoices(choices: readonly string[], max = 12): string {
  const shown = choices.slice(0, max).join(', ');
  return choices.length > max ? `${shown}, ... (${choices.length} in all)` : shown;
}

/**
 * A usage or configuration problem (bad option, unknown target, unreadable mapping file): nothing was
 * checked; the CLI prints the message and exits 2.
 */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/**
 * Output could not be written (a path through a file, no permission, a read-only or full disk).
 * What was written before stays whole (every file is written atomically); the CLI prints the
 * message and exits 1.
 */
export class OutputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OutputError';
  }
}
