export type FlatEvent = Record<string, unknown>;
export function flattenEvtx(raw: Record<string, unknown>): FlatEvent;
export function regressionEvents(dir: string): FlatEvent[];
export function variedEvents(base: readonly FlatEvent[], n: number, seed?: number): FlatEvent[];
