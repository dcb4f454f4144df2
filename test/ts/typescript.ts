import ts from 'typescript';
import type { typeCheck } from '../../src/targets/ts/typecheck.js';

/** The project's TypeScript (the `tsc` users run), rather than the one ts-morph bundles. */
export const projectTs = ts as unknown as NonNullable<Parameters<typeof typeCheck>[1]>;

/**
 * Time limit of tests that generate code: type-checking it (and analyzing the runtime source, when
 * a test does) loads TypeScript, seconds on a loaded machine. No test here is about speed.
 */
export const SLOW = 120_000;
