/**
 * Shared fixture events for the equivalence harness: test/fixtures/events/*.jsonl, one
 * `{"logsource", "note", "event"}` a line, events in Sigma field names; plus every rule's inline
 * `tests` events (under the rule's own log source).
 */
import { readdirSync, readFileSync } from 'node:fs';
import type { LogSource } from '../../src/model/types.js';

export interface Fixture {
  /** `file:line` or `rule-path#test-n`, for messages. */
  source: string;
  logsource: LogSource;
  note: string;
  event: Record<string, unknown>;
}

export const FIXTURE_DIR = new URL('../fixtures/events/', import.meta.url);

export function loadFixtureEvents(): Fixture[] {
  const out: Fixture[] = [];
  for (const f of readdirSync(FIXTURE_DIR).filter((x) => x.endsWith('.jsonl')).sort()) {
    readFileSync(new URL(f, FIXTURE_DIR), 'utf8')
      .split('\n')
      .forEach((line, i) => {
        if (!line.trim()) return;
        const r = JSON.parse(line) as { logsource: LogSource; note?: string; event: Record<string, unknown> };
        out.push({ source: `${f}:${i + 1}`, logsource: r.logsource, note: r.note ?? '', event: r.event });
      });
  }
  return out;
}

/** A fixture belongs to a rule when every log source key the rule sets has the same value. */
export function inLogSource(rule: LogSource, fixture: LogSource): boolean {
  for (const k of ['product', 'category', 'service'] as const) {
    if (rule[k] !== undefined && rule[k] !== fixture[k]) return false;
  }
  return true;
}
