import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defineConfig } from 'vitest/config';

// The rule cache is on by default and lives under $XDG_CACHE_HOME: the tests get a cache of their
// own, so that a run neither reads a user's cache nor leaves entries in it.
const cacheHome = mkdtempSync(join(tmpdir(), 'rulec-test-cache-'));
process.on('exit', () => rmSync(cacheHome, { recursive: true, force: true }));

export default defineConfig({
  test: {
    env: { XDG_CACHE_HOME: cacheHome },
    // main() loads a command's modules when it runs (src/cli/main.ts), so the first CLI call of a
    // test file loads the parser and targets inside the test's time, not before it: seconds on the
    // shared machine, over vitest's default 5 s.
    testTimeout: 30_000,
  },
});
