/**
 * Atomic file output: write a temporary file beside the target, then rename over it, so an
 * interrupted or failed build never leaves a half-written file behind. Failures are OutputErrors
 * that name the path and say what is wrong in words.
 */
import { mkdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { OutputError } from '../diag/diagnostic.js';

const REASONS: Record<string, string> = {
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EROFS: 'read-only file system',
  ENOSPC: 'no space left on device',
  EDQUOT: 'disk quota exceeded',
  EISDIR: 'it is a directory',
  ENOTDIR: 'a part of the path is not a directory',
  ENOENT: 'the system refused to create it (no such file or directory)',
  ENAMETOOLONG: 'the name is too long',
};

function reason(e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code;
  return (code && REASONS[code]) ?? (e as Error).message;
}

/**
 * The directories `dir` needs created, outermost first; throws when the path runs through a file
 * or cannot be examined. Nothing is created.
 */
export function missingDirs(dir: string): string[] {
  const missing: string[] = [];
  for (let d = resolve(dir); ; d = dirname(d)) {
    let isDir: boolean | undefined;
    try {
      isDir = statSync(d).isDirectory();
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' && code !== 'ENOTDIR') throw new OutputError(`cannot create directory ${dir}: ${d}: ${reason(e)}`);
    }
    if (isDir === true) break;
    if (isDir === false) throw new OutputError(`cannot create directory ${dir}: ${d} is a file, not a directory`);
    missing.push(d);
    if (dirname(d) === d) break;
  }
  return missing.reverse();
}

/**
 * mkdir -p, one level at a time. Node 20's own `recursive: true` never returns for some paths
 * (under /proc it loops), and its errors name the deepest directory, not the part that is wrong.
 */
export function ensureDir(dir: string): void {
  for (const d of missingDirs(dir)) {
    try {
      mkdirSync(d);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw new OutputError(`cannot create directory ${d}: ${reason(e)}`);
    }
  }
}

export function writeFileAtomic(path: string, content: string | Uint8Array): void {
  ensureDir(dirname(path));
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`);
  try {
    writeFileSync(tmp, content);
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw new OutputError(`cannot write ${path}: ${reason(e)}`);
  }
}
