/** Types of scripts/golden-runs.mjs for the TypeScript tests that share it. */
export interface GoldenRun {
  target: string;
  out: string;
  args: string[];
}
export const GOLDEN: string;
export const RULES: string;
export function goldenRuns(root?: string): GoldenRun[];
export function buildArgs(run: GoldenRun, outDir: string): string[];
export function failuresText(jsonLines: string[]): string;
