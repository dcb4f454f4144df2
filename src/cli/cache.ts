/**
 * `--cache DIR` and `--no-cache`, shared by every command that loads rules (check, build, scan,
 * test, explain, ir): where the rule cache lives (collection/cache.ts).
 */
import type { Command } from 'commander';
import { defaultCacheDir, RuleCache, useForCode } from '../collection/cache.js';

export interface CacheOptions {
  /** `--cache DIR` (a string), `--no-cache` (false); commander's default is true. */
  cache?: string | boolean;
}

export function cacheOptions(cmd: Command): Command {
  return cmd
    .option('--cache <dir>', `keep parsed rules and compiled queries in this folder (default: ${defaultCacheDir().replace(/^\/home\/[^/]+|^\/root/, '~')}); a cached result is never different from a fresh one`)
    .option('--no-cache', 'read and compile every rule afresh, and write no cache');
}

/** The cache a command uses, or undefined for --no-cache (and for library callers that pass no option). */
export function ruleCache(opts: CacheOptions): RuleCache | undefined {
  const cache = opts.cache === false || opts.cache === undefined ? undefined : new RuleCache(typeof opts.cache === 'string' ? opts.cache : defaultCacheDir());
  // What is derived from rulec's code alone (collection/cache.ts codeMemo) goes in the same folder.
  useForCode(cache);
  return cache;
}
