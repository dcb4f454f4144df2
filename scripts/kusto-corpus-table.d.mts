/** Types of scripts/kusto-corpus-table.mjs for the TypeScript tests that share it. */
export interface Outcome {
  path: string;
  logsource: string;
  sentinel: { ok: boolean; error?: string; source?: { table: string; name?: string; reason?: string } };
  defender: { ok: boolean; error?: string };
}
export const START: string;
export const END: string;
export function corpusTable(outcomes: Outcome[]): string;
export function withTable(doc: string, table: string): string;
