/**
 * KQL operators of native queries (the shape `rulec import --from kusto` accepts) that the emitted
 * queries do not use, for the test interpreter: negated `startswith`/`endswith` and the ranges of
 * `ipv4_is_private`. (The `has` family is the interpreter's own `kqlHas`, the term rules of Kusto's
 * documentation: this file had an independent reading of them, identical on every test below, and
 * was folded into that one when has13 merged.)
 */
import { upperFold } from './interpreter.js';

/** Binary string operators of native queries, by their KQL spelling. */
export const NATIVE_STRING_OPS: Record<string, (a: string, b: string) => boolean> = {
  '!startswith': (a, b) => !upperFold(a).startsWith(upperFold(b)),
  '!startswith_cs': (a, b) => !a.startsWith(b),
  '!endswith': (a, b) => !upperFold(a).endsWith(upperFold(b)),
  '!endswith_cs': (a, b) => !a.endsWith(b),
};

/** ipv4_is_private: the RFC 1918 ranges, as Kusto documents the function. */
export const IPV4_PRIVATE_RANGES = ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16'];
