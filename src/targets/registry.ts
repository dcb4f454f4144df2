/**
 * Targets are loaded on demand so that `rulec check` and a build for one target never pay for
 * another target's code (the KQL validator alone takes most of a second to load).
 */
import { UsageError } from '../diag/diagnostic.js';
import type { Target } from './types.js';

const TARGETS: Record<string, () => Promise<Target>> = {
  ir: async () => (await import('./ir/target.js')).irTarget,
  kusto: async () => (await import('./kusto/target.js')).kustoTarget,
  eql: async () => (await import('./eql/target.js')).eqlTarget,
  spl: async () => (await import('./spl/target.js')).splTarget,
  ts: async () => (await import('./ts/target.js')).tsTarget,
};

export function targetNames(): string[] {
  return Object.keys(TARGETS);
}

/**
 * The targets whose platform mappings name log sources and fields (Target.catalog). Listed here so
 * that `rulec check` need not load the others (the ts target takes over a second to load); a test
 * checks the list against the targets.
 */
export const CATALOG_TARGETS = ['kusto', 'eql', 'spl'] as const;

export async function loadTarget(name: string): Promise<Target> {
  const load = TARGETS[name];
  if (!load) throw new UsageError(`unknown target '${name}'; valid targets: ${targetNames().join(', ')}`);
  return load();
}
