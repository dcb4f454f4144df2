/** Types of golden-import.mjs, for the golden test. */
export const ROOT: string;
export function goldenImportInputs(root?: string): string[];
export function goldenImport(mode: 'native' | 'sigma', main: (argv: string[], io: unknown) => Promise<number>, root?: string): Promise<Map<string, string>>;
