// Writes src/targets/ts/runtime-index.json: the ts target's analysis of rulec's runtime source
// (src/targets/ts/runtime-source.ts), kept so that builds need not load TypeScript to redo it.
// Run after changing that source: `npm run ts:runtime` (`npm run golden:ts` runs it too).
import { writeFileSync } from 'node:fs';
import { analyzeRuntime, INDEX_PATH } from '../dist/targets/ts/runtime-source.js';

const index = analyzeRuntime();
writeFileSync(new URL(`../${INDEX_PATH}`, import.meta.url), JSON.stringify(index, null, 1) + '\n');
console.log(`${INDEX_PATH}: ${index.declarations.length} declarations`);
