/**
 * `--jobs N` of the commands that load rules (build, check, catalog; scan has its own, which it
 * also loads with): how many threads read, parse and lower the rule files (collection/parallel.ts;
 * a cold build's workers also compile and write, cli/build-parallel.ts).
 * The result is the same whatever N is.
 */
import type { Command } from 'commander';
import { UsageError } from './exit-codes.js';

export interface JobsOptions {
  /** `--jobs N` as given. */
  jobs?: string;
}

export function jobsOption(cmd: Command): Command {
  return cmd.option('-j, --jobs <n>', 'threads that read and parse the rule files (a cold build: that also compile and write), with the same result as one (default, from 2 MB of rules to parse: a cold build the number of cores, else the cores less one; below: 1)');
}

/** The thread count given, or undefined for the default (collection/parallel.ts decides). */
export function loadJobs(opts: JobsOptions): number | undefined {
  if (opts.jobs === undefined) return undefined;
  if (!/^[1-9]\d*$/.test(opts.jobs)) throw new UsageError(`--jobs must be a positive whole number, got '${opts.jobs}'`);
  return Number(opts.jobs);
}
