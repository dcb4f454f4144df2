import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { globRegex } from '../../src/runtime/glob.js';
import { commentText, constantName, Names, regexLiteral, stringLiteral, wrap } from '../../src/targets/ts/syntax.js';
import { nastyString } from '../harness/property.js';

const evaluate = (expr: string): unknown => new Function(`return ${expr};`)();

describe('ts syntax', () => {
  it('a string literal evaluates to its value, for any UTF-16 string', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ unit: 'binary' }), fc.string({ unit: fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)) }), nastyString), (s) => {
        const lit = stringLiteral(s);
        expect(lit).not.toMatch(/[\n\r\u2028\u2029]/);
        expect(evaluate(lit)).toBe(s);
      }),
      { numRuns: 5000 },
    );
  });

  it('keeps printable text readable and escapes what cannot be seen', () => {
    expect(stringLiteral("C:\\Windows\\it's.exe")).toBe("'C:\\\\Windows\\\\it\\'s.exe'");
    expect(stringLiteral('é Σ 😀')).toBe("'é Σ 😀'");
    expect(stringLiteral('\0\u00a0\u200b\ufeff')).toBe("'\\u0000\\u00a0\\u200b\\ufeff'");
    expect(stringLiteral('\ud800x')).toBe("'\\ud800x'");
  });

  it('a regex literal is the same regular expression', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(nastyString, fc.constantFrom({ wildcard: '*' as const }, { wildcard: '?' as const })), { maxLength: 6 }), fc.boolean(), (tokens, anchored) => {
        const re = globRegex(tokens, anchored);
        const back = evaluate(regexLiteral(re)) as RegExp;
        expect(back.source).toBe(re.source);
        expect(back.flags).toBe(re.flags);
      }),
      { numRuns: 2000 },
    );
    const withSlash = new RegExp('a/b\n', 'i');
    expect(regexLiteral(withSlash)).toBe('/a\\/b\\n/i');
  });

  it('comment text is one line and cannot close the comment', () => {
    expect(commentText('a */ b\n  c')).toBe('a *\\/ b c');
    expect(wrap('aa bb cc dd', 5)).toBe('aa bb\ncc dd');
    expect(wrap('averyveryverylongword x', 5)).toBe('averyveryverylongword\nx');
  });

  it('constant names are upper snake case identifiers, unique in a module', () => {
    expect(constantName('TargetFilename')).toBe('TARGET_FILENAME');
    expect(constantName('EventID')).toBe('EVENT_ID');
    expect(constantName('cs-uri-query')).toBe('CS_URI_QUERY');
    expect(constantName('a.b.c')).toBe('A_B_C');
    expect(constantName('4688')).toBe('F_4688');
    expect(constantName('Ärger')).toBe('RGER');
    expect(constantName('ß')).toBe('FIELD');
    const names = new Names(['TS']);
    expect([names.take('TS'), names.take('X'), names.take('X'), names.take('X_2')]).toEqual(['TS_2', 'X', 'X_2', 'X_2_2']);
  });
});
