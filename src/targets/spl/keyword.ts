/**
 * Keyword (field-less) leaves as a PCRE over `_raw`. The search command's bare terms match indexed
 * tokens, not substrings (S7), and a plain regex over `_raw` would also match field names and
 * markup. docs/semantics.md says a keyword matches when some *value* of the event contains the
 * pattern; the log source's `raw` format (backends/spl) says how `_raw` holds the values, and the
 * pattern here is aligned to that format's tokens so that it matches inside values only:
 *
 * - `text`: `_raw` is one line of text, the event's only value: a plain unanchored pattern.
 * - `w3c`: `_raw` is a W3C extended log line: the values in header order, separated by one space,
 *   `-` for an empty one; no value holds a space (W3C writers encode it, IIS as `+`). The pattern
 *   matches inside one space-free token that is not a lone `-`; a keyword with a literal space
 *   matches no value, as in the evaluator over such events.
 * - `json`: `_raw` is the event as a JSON document. The pattern walks whole string tokens from the
 *   start and matches inside a string that is not followed by `:` (a key), or inside a bare number
 *   or boolean; characters JSON escapes are matched in their escaped form.
 * - `xml`: `_raw` is the Windows XML rendering. The pattern walks whole tags and entities and
 *   matches inside element text or inside an attribute value, except the `Name` of `<Data>` (the
 *   field name) and `xmlns`. `& <` are matched as entities, `> " '` raw or as entities.
 *
 * A wildcard never crosses a value's end (`*` is a run of the format's character units).
 */
import type { GlobToken } from '../../ir/types.js';
import { TargetFailure } from '../types.js';
import type { RawFormat } from './mapping.js';
import { ciCp, literal, litCp } from './pcre.js';

function units(tokens: readonly GlobToken[]): GlobToken[] {
  const out: GlobToken[] = [];
  for (const t of tokens) {
    const last = out[out.length - 1];
    if (typeof t !== 'string' && t.wildcard === '*' && typeof last !== 'string' && last?.wildcard === '*') continue;
    out.push(t);
  }
  while (out.length && typeof out[0] !== 'string' && out[0]!.wildcard === '*') out.shift();
  while (out.length && typeof out[out.length - 1] !== 'string' && (out[out.length - 1] as { wildcard: string }).wildcard === '*') out.pop();
  return out;
}

interface Encoding {
  /** One character of the value, as it can appear in `_raw`. */
  char(ch: string, ci: boolean): string;
  /** One character unit of a value in `_raw` (a `?`). */
  unit: string;
}

function render(tokens: GlobToken[], ci: boolean, enc: Encoding): string {
  let out = '';
  for (const t of tokens) {
    if (typeof t === 'string') for (const ch of t) out += enc.char(ch, ci);
    else out += t.wildcard === '*' ? `${enc.unit}*` : enc.unit;
  }
  return out;
}

const plainChar = (ch: string, ci: boolean): string => (ci ? ciCp(ch) : litCp(ch.codePointAt(0)!));

// JSON: a string unit is an unescaped character or one escape sequence.
const JSON_UNIT = '(?:[^"\\\\]|\\\\u[0-9A-Fa-f]{4}|\\\\[^u])';
const JSON_SKIP = `^(?:[^"]|"${JSON_UNIT}*")*?`;
const JSON_WS = '[\\t\\n\\r ]';
const BARE_CHARS = '-+.0-9A-Za-z';
const BARE_UNIT = `[${BARE_CHARS}]`;

const jsonString: Encoding = {
  char(ch, ci) {
    const escaped = JSON.stringify(ch).slice(1, -1);
    return escaped === ch ? plainChar(ch, ci) : literal(escaped, false);
  },
  unit: JSON_UNIT,
};

const jsonBare: Encoding = { char: plainChar, unit: BARE_UNIT };

function jsonPattern(tokens: GlobToken[], ci: boolean): string {
  const inString = `"${JSON_UNIT}*?${render(tokens, ci, jsonString)}${JSON_UNIT}*"(?!${JSON_WS}*:)`;
  // Numbers and booleans are bare tokens; a keyword can only match there with their characters.
  const bareOk = tokens.every((t) => typeof t !== 'string' || [...t].every((ch) => /^[-+.0-9A-Za-z]$/.test(ch)));
  if (!bareOk) return `${JSON_SKIP}${inString}`;
  const bare = `(?<=[:,\\[\\t\\n\\r ])(?!null(?!${BARE_UNIT}))${BARE_UNIT}*?${render(tokens, ci, jsonBare)}`;
  return `${JSON_SKIP}(?:${inString}|${bare})`;
}

// W3C: a value is a run of non-space characters.
const W3C_UNIT = '[^ ]';
const w3c: Encoding = { char: (ch, ci) => (ch === ' ' ? '(?!)' : plainChar(ch, ci)), unit: W3C_UNIT };

function w3cPattern(tokens: GlobToken[], ci: boolean): string {
  return `(?:^| )(?!-(?: |\\z))${W3C_UNIT}*?${render(tokens, ci, w3c)}`;
}

// XML: text units are characters or entities; tags are skipped whole (quoted attribute values may hold `>`).
const ENTITY = '&[^;&<]*;';
const XML_TEXT_UNIT = `(?:[^<&]|${ENTITY})`;
const XML_SKIP = `^(?:[^<&]|${ENTITY}|<(?:[^>'"]|'[^']*'|"[^"]*")*>)*?`;
const XML_SPACE = '[\\t\\n\\r ]';
const XML_NAME = '[^\\t\\n\\r =/>]+';

function xmlEncoding(context: 'text' | "'" | '"'): Encoding {
  return {
    char(ch, ci) {
      switch (ch) {
        case '&':
          return '&amp;';
        case '<':
          return '&lt;';
        case '>':
          return '(?:>|&gt;)';
        case '"':
          return context === '"' ? '&quot;' : '(?:"|&quot;)';
        case "'":
          return context === "'" ? '&apos;' : "(?:'|&apos;)";
        default:
          return plainChar(ch, ci);
      }
    },
    unit: context === 'text' ? XML_TEXT_UNIT : `(?:[^${context}<&]|${ENTITY})`,
  };
}

function xmlPattern(tokens: GlobToken[], ci: boolean): string {
  const text = render(tokens, ci, xmlEncoding('text'));
  const single = xmlEncoding("'");
  const double = xmlEncoding('"');
  const otherAttr = `${XML_SPACE}+${XML_NAME}${XML_SPACE}*=${XML_SPACE}*(?:'[^']*'|"[^"]*")`;
  const attr =
    `<(?!Data[\\t\\n\\r />])[^\\t\\n\\r />]+(?:${otherAttr})*?${XML_SPACE}+(?!xmlns[:=\\t\\n\\r ])${XML_NAME}${XML_SPACE}*=${XML_SPACE}*` +
    `(?:'${single.unit}*?${render(tokens, ci, single)}|"${double.unit}*?${render(tokens, ci, double)})`;
  return `${XML_SKIP}(?:${text}|${attr})`;
}

export interface KeywordRegex {
  body: string;
  dotAll: boolean;
}

/** The PCRE over `_raw` for a keyword pattern; a failure when the log source's raw format is unknown. */
export function keywordRegex(pattern: readonly GlobToken[], ci: boolean, raw: RawFormat, rawReason: string | undefined): KeywordRegex {
  const tokens = units(pattern);
  if (tokens.length === 0) throw new TargetFailure('unsupported', 'a keyword made only of * wildcards has no SPL form: write a field condition instead');
  switch (raw) {
    case 'text':
      return {
        body: tokens.map((t) => (typeof t === 'string' ? literal(t, ci) : t.wildcard === '*' ? '.*' : '.')).join(''),
        dotAll: tokens.some((t) => typeof t !== 'string'),
      };
    case 'w3c':
      return { body: w3cPattern(tokens, ci), dotAll: false };
    case 'json':
      return { body: jsonPattern(tokens, ci), dotAll: false };
    case 'xml':
      return { body: xmlPattern(tokens, ci), dotAll: false };
    case 'none':
      throw new TargetFailure(
        'unsupported',
        `keyword (field-less) search needs to know how _raw holds the event's values, and this log source's is unknown${rawReason ? ` (${rawReason})` : ''}: a search term would match tokens and field names, not values; set raw: json, xml, w3c or text for the log source in a --mapping file if you know it`,
      );
  }
}
