/**
 * `--jobs N` of the commands that load rules (build, check, catalog; scan has its own, which it
 * also loads with): how many threads read, parse and lower the rule files (collection/parallel.ts).
 * The result is the same whatever N is.
 */
import type { Command } from 'commander';
import { UsageError } from './exit-codes.js';

export interface JobsOptions {
  /** `--jobs N` as given. */
  jobs?: string;
}

export function jobsOption(cmd: Command): Command {
  return cmd.option('-j, --jobs <n>', 'threads that read and parse the rule files, with the same result as one (default: the number of cores less one, when there are 2 MB or more of rules to parse, else 1)');
}

/** The thread count given, or undefined for the default (collection/parallel.ts decides). */
export function loadJobs(opts: JobsOptions): number | undefined {
  if (opts.jobs === undefined) return undefined;
  if (!/^[1-9]\d*$/.test(opts.jobs)) throw new UsageError(`--jobs must be a positive whole number, got '${opts.jobs}'`);
  return Number(opts.jobs);
}
