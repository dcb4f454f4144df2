import { statSync } from 'node:fs';

/** A regular file exists at `path` (not a directory; unreadable or missing is false). */
export function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}
