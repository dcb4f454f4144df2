import ts from 'typescript';
import type { typeCheck } from '../../src/targets/ts/typecheck.js';

/** The project's TypeScript (the `tsc` users run), rather than the one ts-morph bundles. */
export const projectTs = ts as unknown as NonNullable<Parameters<typeof typeCheck>[1]>;

/**
 * Time limit of tests that generate code: the first generation in a process loads ts-morph and
 * parses the runtime sources, seconds on a loaded machine. No test here is about speed.
 */
export const SLOW = 120_000;
