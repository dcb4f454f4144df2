import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Node } from '../../src/ir/types.js';
import type { CompileInput } from '../../src/targets/types.js';
import { nastyChar, propertyInput } from '../harness/property.js';
import { kustoBackend, verdicts } from './backend.js';

/**
 * Fields Defender stores in two columns and the query joins back (mapping kind `join`): TargetObject
 * from RegistryKey and RegistryValueName with the hive spelled out (HKEY_LOCAL_MACHINE\ for HKLM\,
 * ControlSet001 for CurrentControlSet), User from InitiatingProcessAccountDomain and -Name. Every
 * leaf kind that reads a value, on registry paths and accounts built from hives and hostile text,
 * must give the evaluator's verdict on Defender XDR, on Sentinel's Defender table, and on the ASIM
 * parser _Im_RegistryEvent (RegistryKey + RegistryValue, the same hive spellings).
 */
const HIVES = ['HKLM\\', 'HKU\\', 'HKCR\\', 'HKLM\\System\\CurrentControlSet\\', 'HKLM\\SYSTEM\\', 'hklm\\', 'HKEY_USERS', ''];
const segment = fc.array(fc.oneof(nastyChar.filter((c) => c !== '\\'), fc.constantFrom('Run', 'Services', 'CurrentVersion', 'S-1-5-21')), { minLength: 1, maxLength: 3 }).map((a) => a.join(''));
const path = fc.tuple(fc.constantFrom(...HIVES), fc.array(segment, { minLength: 1, maxLength: 3 })).map(([h, segs]) => h + segs.join('\\'));
const account = fc.oneof(segment, fc.tuple(segment, segment).map(([d, n]) => `${d}\\${n}`), fc.constantFrom('NT AUTHORITY\\SYSTEM', 'nt authority\\system'));

const FIELDS = ['TargetObject', 'User'] as const;
const caseMode = fc.constantFrom<'ci' | 'cs'>('ci', 'cs');
const text = fc.oneof(path, account, segment, fc.constantFrom('\\', '\\Run\\', 'HKLM', 'HKLM\\System\\CurrentControlSet\\Services\\', 'SYSTEM\\ControlSet001'));

const leaf: fc.Arbitrary<Node> = fc.oneof(
  fc.record({ kind: fc.constant('str' as const), field: fc.constantFrom(...FIELDS), op: fc.constantFrom('eq' as const, 'prefix' as const, 'suffix' as const, 'contains' as const), value: text, case: caseMode }),
  fc.record({ kind: fc.constant('glob' as const), field: fc.constantFrom(...FIELDS), pattern: fc.tuple(text, text).map(([a, b]) => [a, { wildcard: '*' as const }, b]), case: caseMode }),
  fc.record({ kind: fc.constant('regex' as const), field: fc.constantFrom(...FIELDS), pattern: fc.constantFrom('^HKLM\\\\Software\\\\', '\\\\Run$', '^HKU\\\\S-1-5-21[^\\\\]*\\\\', 'CurrentControlSet\\\\Services', '^NT AUTHORITY\\\\'), flags: fc.constantFrom('', 'i') }),
  fc.record({ kind: fc.constantFrom('exists' as const, 'null' as const), field: fc.constantFrom(...FIELDS) }),
  fc.record({ kind: fc.constant('fieldref' as const), field: fc.constant('TargetObject'), op: fc.constantFrom('eq' as const, 'contains' as const), other: fc.constant('User'), case: caseMode }),
);
const ir: fc.Arbitrary<Node> = fc.oneof(
  { weight: 3, arbitrary: leaf },
  { weight: 1, arbitrary: leaf.map((child): Node => ({ kind: 'not', child })) },
  { weight: 1, arbitrary: fc.tuple(leaf, leaf).map(([a, b]): Node => ({ kind: 'or', children: [a, b] })) },
);
const event = fc.record({ TargetObject: path, User: account }, { requiredKeys: [] });

const inputOf = (node: Node): CompileInput => propertyInput(node, { product: 'windows', category: 'registry_set' });

describe('Kusto joined fields (TargetObject, User on Defender tables), property-based', () => {
  const variants = [
    { platform: 'defender-xdr', table: 'DeviceRegistryEvents' },
    { platform: 'sentinel', table: 'DeviceRegistryEvents' },
    { platform: 'sentinel', table: '_Im_RegistryEvent', extra: { source: 'asim' } },
  ];
  for (const { platform, table, extra } of variants) {
    it(`kusto/${platform} on ${table}: registry paths and accounts agree with the evaluator`, async () => {
      const backend = kustoBackend(platform, extra);
      const seen = { match: 0, miss: 0, unstorable: 0 };
      let n = 0;
      await fc.assert(
        fc.asyncProperty(ir, event, async (node, ev) => {
          if (++n % 200 === 0) await new Promise((resolve) => setImmediate(resolve));
          const v = verdicts(backend, inputOf(node), ev);
          if (!v) {
            seen.unstorable++;
            return fc.pre(false);
          }
          expect(v.query.startsWith(`${table}\n`)).toBe(true);
          seen[v.expected ? 'match' : 'miss']++;
          return v.got === v.expected;
        }),
        { numRuns: 800 },
      );
      expect(seen.match).toBeGreaterThan(100);
      expect(seen.miss).toBeGreaterThan(100);
    }, 300_000);
  }
});
