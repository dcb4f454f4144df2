import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { typeCheck } from '../../src/targets/ts/typecheck.js';
import { walk } from '../helpers/cli.js';
import { projectTs, SLOW } from './typescript.js';

const RULES = new URL('../../rules', import.meta.url).pathname;
const GOLDEN = new URL('../../golden/', import.meta.url).pathname;
const quiet = { out: () => {}, err: () => {}, json: () => {} };

async function build(format: string): Promise<string> {
  const out = mkdtempSync(join(tmpdir(), 'rulec-ts-golden-'));
  expect(await main(['build', '--target', 'ts', '--format', format, '--out', out, RULES], quiet)).toBe(0);
  return out;
}

/** Golden files are rulec's output for rules/, read by eye; `npm run golden:ts` rewrites them after a change. */
describe('ts goldens', { timeout: SLOW }, () => {
  for (const [format, dir] of [
    ['module', 'ts'],
    ['bundle', 'ts-bundle'],
  ] as const) {
    it(`golden/${dir} is what \`rulec build --target ts --format ${format} rules/\` writes`, async () => {
      const out = await build(format);
      // The build's manifest (tested in test/cli) is not kept with the goldens.
      const files = walk(out).filter((f) => f !== '.rulec-manifest.json');
      expect(files).toEqual(walk(GOLDEN + dir));
      for (const f of files) expect(readFileSync(join(out, f), 'utf8'), f).toBe(readFileSync(join(GOLDEN, dir, f), 'utf8'));
    });
  }

  it('every golden type-checks with the project TypeScript under strict, ES2022 and no other library', () => {
    const modules = new Map([...walk(GOLDEN + 'ts').map((f) => `ts/${f}`), 'ts-bundle/rules.ts'].map((f) => [f, readFileSync(GOLDEN + f, 'utf8')]));
    expect(modules.size).toBeGreaterThan(8);
    expect(typeCheck(modules, projectTs)).toEqual(new Map());
  });
});
