import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { identifier, isLiteralSafe, NotLiteralError, numberLiteral, re2Literal, regexLiteral, stringLiteral } from '../../src/targets/kusto/dialect.js';
import { parseKql, type SyntaxNode } from '../../src/targets/kusto/validate.js';
import { nastyString } from '../harness/property.js';
import { re2ToJs } from './interpreter.js';

function find(n: SyntaxNode, kind: string): SyntaxNode | undefined {
  if (n.kind === kind) return n;
  for (const c of n.children) {
    const f = find(c, kind);
    if (f) return f;
  }
  return undefined;
}

/** The value Kusto.Language decodes from a literal, as the service would read it. */
function decoded(literal: string): string {
  const { root, diagnostics } = parseKql(`print x = ${literal}`);
  expect(diagnostics).toEqual([]);
  return find(root, 'StringLiteralToken')!.valueText!;
}

describe('KQL string literals', { timeout: 60_000 }, () => {
  it('verbatim for backslashes, escaped otherwise; what Kusto.Language decodes is the value', () => {
    expect(stringLiteral('C:\\Windows\\x.exe')).toBe('@"C:\\Windows\\x.exe"');
    expect(stringLiteral('say "hi"')).toBe('"say \\"hi\\""');
    expect(stringLiteral('a\\"b')).toBe('@"a\\""b"');
    expect(stringLiteral('tab\there\nnl\\x')).toBe('"tab\\there\\nnl\\\\x"');
    for (const s of ['', "'", '"', '\\', '\\\\', 'é😀İ', 'a\tb', 'x\ny\\z', '`$@']) expect(decoded(stringLiteral(s))).toBe(s);
  }, 60_000);

  it('invisible characters are \\uHHHH escapes in a regular literal, never raw (a verbatim literal cannot escape)', () => {
    expect(stringLiteral('evil\u202Etxt.exe')).toBe('"evil\\u202Etxt.exe"');
    expect(stringLiteral('C:\\a\u200Bb')).toBe('"C:\\\\a\\u200Bb"');
    expect(stringLiteral('\uFEFFx\u00A0\u212A')).toBe('"\\uFEFFx\\u00A0\\u212A"');
    expect(stringLiteral('\u{E0041}')).toBe('"\\uDB40\\uDC41"');
    for (const s of ['evil\u202Etxt.exe', 'C:\\a\u200Bb', '\uFEFF"\u2066\u{E0041}\u00AD', 'ẞ\u212A']) {
      const lit = stringLiteral(s);
      expect(lit).toMatch(/^"[\x20-\x7e\u00c0-\u1e9f]*"$/);
      expect(decoded(lit)).toBe(s);
    }
    expect(re2Literal('a\u200Bb\u202E')).toBe('a\\x{200B}b\\x{202E}');
  });

  it('any literal-safe text round-trips through Kusto.Language (property)', () => {
    fc.assert(
      fc.property(nastyString.filter(isLiteralSafe), (s) => decoded(stringLiteral(s)) === s),
      { numRuns: 2000 },
    );
  });

  it('control characters other than TAB and LF, DEL, U+2028/9 and lone surrogates cannot be literals', () => {
    for (const s of ['\0', 'a\rb', '\u0001', '\u007f', '\u0085', '\u2028', '\ud800']) {
      expect(isLiteralSafe(s)).toBe(false);
      expect(() => stringLiteral(s)).toThrow(NotLiteralError);
    }
  });
});

describe('KQL names and numbers', { timeout: 60_000 }, () => {
  it('identifiers are bare when plain, quoted as [\'...\'] otherwise (spaces, dashes, dots, keywords)', () => {
    expect(identifier('FolderPath')).toBe('FolderPath');
    expect(identifier('Type')).toBe('Type');
    expect(identifier('Foo-Bar')).toBe("['Foo-Bar']");
    expect(identifier('a.b')).toBe("['a.b']");
    expect(identifier('where')).toBe("['where']");
    expect(identifier("it's")).toBe("['it\\'s']");
    expect(identifier('1st')).toBe("['1st']");
    const { diagnostics } = parseKql(`T | where ${identifier('Foo-Bar')} == 1 and ${identifier('where')} == 2`);
    expect(diagnostics).toEqual([]);
  });

  it('numbers: integers as they are, large or tiny reals through real()', () => {
    expect(numberLiteral(4688)).toBe('4688');
    expect(numberLiteral(-1.5)).toBe('-1.5');
    expect(numberLiteral(1e21)).toBe('real(1e+21)');
  });
});

describe('RE2 literal text', { timeout: 60_000 }, () => {
  it('re2Literal(s) anchored matches exactly s under RE2 (property)', () => {
    fc.assert(
      fc.property(nastyString, nastyString, (s, other) => {
        const re = re2ToJs(`(?s)^${re2Literal(s)}$`);
        return re.test(s) && (other === s || !re.test(other));
      }),
      { numRuns: 2000 },
    );
  });

  it('regex literals are verbatim strings Kusto.Language decodes to the pattern', () => {
    const p = re2Literal('a"b\\c\u0000');
    expect(decoded(regexLiteral(p))).toBe(p);
  });
});
