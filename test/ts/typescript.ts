import ts from 'typescript';
import type { typeCheck } from '../../src/targets/ts/typecheck.js';

/** The project's TypeScript (the `tsc` users run), rather than the one ts-morph bundles. */
export const projectTs = ts as unknown as NonNullable<Parameters<typeof typeCheck>[1]>;
