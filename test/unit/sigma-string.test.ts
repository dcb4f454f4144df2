import { describe, expect, it } from 'vitest';
import { parseSigmaString, toSigmaNotation } from '../../src/parse/sigma-string.js';

// The escaping table of ../shared/notes/target-semantics.md section 1.1 (values as YAML single-quoted text).
const TABLE: [string, unknown[]][] = [
  ['C:\\Windows\\x.exe', ['C:\\Windows\\x.exe']],
  ['C:\\\\Windows', ['C:\\Windows']],
  ['a\\*b', ['a*b']],
  ['a\\?b', ['a?b']],
  ['\\\\*', ['\\', { wildcard: '*' }]],
  ['\\\\\\*', ['\\*']],
  ['\\\\\\\\', ['\\\\']],
  ['ends\\', ['ends\\']],
  ['ends\\\\', ['ends\\']],
  ['foo*bar?', ['foo', { wildcard: '*' }, 'bar', { wildcard: '?' }]],
  ['%var%', ['%var%']],
  ['\\Desktop\\', ['\\Desktop\\']],
  ['', []],
  ['**', [{ wildcard: '*' }, { wildcard: '*' }]],
];

describe('Sigma string escaping', () => {
  it.each(TABLE)('%s', (input, parsed) => {
    expect(parseSigmaString(input)).toEqual(parsed);
  });

  it('three or four backslashes before a plain character are two', () => {
    expect(parseSigmaString('a\\\\\\b')).toEqual(['a\\\\b']);
    expect(parseSigmaString('a\\\\\\\\b')).toEqual(['a\\\\b']);
  });

  it('with placeholders, %name% is a token and \\% a literal percent', () => {
    expect(parseSigmaString('x%exts%y', true)).toEqual(['x', { placeholder: 'exts' }, 'y']);
    expect(parseSigmaString('\\%exts%', true)).toEqual(['%exts%']);
    expect(parseSigmaString('100%', true)).toEqual(['100%']);
  });

  it('notation round-trips', () => {
    for (const [input] of TABLE) {
      const p = parseSigmaString(input);
      expect(parseSigmaString(toSigmaNotation(p))).toEqual(p);
    }
  });
});
