/**
 * The `ir` target prints the match IR itself (one JSON document per rule). It is the neutral probe of
 * the build pipeline: it exercises the CLI contract without any target language.
 */
import type { Target } from '../types.js';

export const irTarget: Target = {
  name: 'ir',
  platforms: ['neutral'],
  formats: ['query'],
  compile(input) {
    const text = JSON.stringify(input.ir, null, 2) + '\n';
    return { ok: true, query: text, output: text, ext: 'json' };
  },
};
