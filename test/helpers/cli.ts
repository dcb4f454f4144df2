import { readdirSync } from 'node:fs';
import { join } from 'node:path';

/** An Output for `main()` that keeps what the CLI prints: stdout lines (JSON objects as text) and stderr lines. */
export function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, io: { out: (l: string) => out.push(l), err: (l: string) => err.push(l), json: (o: unknown) => out.push(JSON.stringify(o)) } };
}

/** Every file below `dir`, as paths relative to it, sorted. */
export function walk(dir: string, base = ''): string[] {
  return readdirSync(join(dir, base), { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? walk(dir, join(base, e.name)) : [join(base, e.name)]))
    .sort();
}
