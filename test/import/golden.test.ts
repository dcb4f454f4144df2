/**
 * golden/import/<native|sigma>/: a fresh `rulec import --from kusto` of the seed, of rulec's own
 * artifacts and of the Sentinel corpus's `single` rules must give the committed files byte for byte.
 * To accept a change: `npm run golden:import`, then read the diff.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { goldenImport, ROOT } from '../../scripts/golden-import.mjs';
import { main } from '../../src/cli/main.js';

describe('golden import files', { timeout: 120_000 }, () => {
  for (const mode of ['native', 'sigma']) {
    it(`golden/import/${mode} matches a fresh import (regenerate with npm run golden:import)`, async () => {
      const dir = join(ROOT, 'golden', 'import', mode);
      const fresh = await goldenImport(mode as 'native' | 'sigma', main as never);
      const committed = new Map(readdirSync(dir).map((f) => [f, readFileSync(join(dir, f), 'utf8')]));
      expect([...fresh.keys()].sort()).toEqual([...committed.keys()].sort());
      for (const [name, text] of fresh) expect(text, name).toBe(committed.get(name));
    });
  }
});
