import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { analyzeRuntime, INDEX_PATH, readSources, RuntimeSource, type RuntimeIndex } from '../../src/targets/ts/runtime-source.js';
import { SLOW } from './typescript.js';

const ROOT = new URL('../../', import.meta.url).pathname;

describe('the ts runtime index', { timeout: SLOW }, () => {
  it('is the analysis of the runtime source as it is now', () => {
    const kept = JSON.parse(readFileSync(ROOT + INDEX_PATH, 'utf8')) as RuntimeIndex;
    expect(kept, `${INDEX_PATH} was made from other sources or by another analysis: run npm run ts:runtime`).toEqual(analyzeRuntime());
  });

  it('is used for the sources it was made from, and only for them', () => {
    const sources = readSources();
    const index = analyzeRuntime();
    const forged: RuntimeIndex = { ...index, declarations: index.declarations.map((d) => (d.names.includes('fold') ? { ...d, text: '// forged' } : d)) };
    expect(RuntimeSource.of(sources, forged).text(['fold'])).toContain('// forged');
    const other = RuntimeSource.of(sources, { ...forged, fingerprint: '0'.repeat(64) }).text(['fold']);
    expect(other).not.toContain('// forged');
    expect(other).toBe(RuntimeSource.of(sources, undefined).text(['fold']));
  });

  // Runs dist/ (built by `npm test` before vitest), in a fresh process: loading TypeScript is what
  // the index saves, and only a process that never loaded it can show that.
  it('lets a build generate modules without loading TypeScript', () => {
    const dir = mkdtempSync(join(tmpdir(), 'rulec-ts-index-'));
    const probe = join(dir, 'probe.cjs');
    writeFileSync(probe, "process.on('exit', () => process.stderr.write('\\nLOADED ' + JSON.stringify(Object.keys(require.cache).filter((p) => /[\\\\/](ts-morph|typescript)[\\\\/]/.test(p)))));\n");
    const r = spawnSync(process.execPath, ['-r', probe, ROOT + 'bin/rulec.js', 'build', '--target', 'ts', '--no-cache', '--out', join(dir, 'out'), ROOT + 'rules'], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/compiled -> /);
    expect(r.stderr.split('\nLOADED ')[1]).toBe('[]');
  });
});
