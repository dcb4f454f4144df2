import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadCollection } from '../../src/collection/load.js';
import { allTactics, allTechniques, ownName, placeTechniques, replacementOf, ruleAttack, tactic, tacticsOf, technique } from '../../src/attack/index.js';
import { parseRuleText } from '../../src/parse/rule.js';
import { threatOf } from '../../src/targets/eql/artifacts.js';
import { eqlPlatform } from '../eql/helpers.js';
import { SIGMAHQ } from '../helpers/corpus.js';
import { inputOf } from '../kusto/helpers.js';

describe('ATT&CK tables', () => {
  it('has the 14 Enterprise tactics in matrix order, by shortname and id', () => {
    expect(allTactics().map((t) => t.shortname)).toEqual([
      'reconnaissance', 'resource-development', 'initial-access', 'execution', 'persistence', 'privilege-escalation', 'defense-evasion',
      'credential-access', 'discovery', 'lateral-movement', 'collection', 'command-and-control', 'exfiltration', 'impact',
    ]);
    expect(tactic('TA0011')).toBe(tactic('command-and-control'));
    expect(tactic('command-and-control')!.name).toBe('Command and Control');
  });

  it('names techniques and places them under their own tactics', () => {
    expect(technique('t1105')!.name).toBe('Ingress Tool Transfer');
    expect(tacticsOf('T1547.001').map((t) => t.shortname)).toEqual(['persistence', 'privilege-escalation']);
    expect(ownName(technique('T1059.001')!)).toBe('PowerShell');
    expect(technique('T9999')).toBeUndefined();
    const all = allTechniques();
    expect([all.length, all.filter((t) => !t.retired).length, all.filter((t) => t.revokedBy).length]).toEqual([835, 691, 132]);
  });

  it('follows revoked-by chains to a live technique, and has none for deprecated ones', () => {
    expect(replacementOf('T1073')!.id).toBe('T1574.001');
    expect(replacementOf('T1150')!.id).toBe('T1647');
    expect(replacementOf('T1086')!.id).toBe('T1059.001');
    expect(replacementOf('T1026')).toBeUndefined();
    expect(replacementOf('T1059')).toBeUndefined();
  });
});

describe('rule tags', () => {
  it('places each technique under the tagged tactics it belongs to, sub-techniques under their parent', () => {
    const placed = placeTechniques(ruleAttack(['attack.execution', 'attack.command-and-control', 'attack.t1105', 'attack.t1059.001', 'attack.t1059']));
    expect(placed.map((p) => [p.tactic.shortname, p.techniques.map((t) => [t.technique.id, t.subtechniques.map((s) => s.id)])])).toEqual([
      ['execution', [['T1059', ['T1059.001']]]],
      ['command-and-control', [['T1105', []]]],
    ]);
  });

  it('a technique none of whose tactics is tagged goes under all of its own', () => {
    const placed = placeTechniques(ruleAttack(['attack.execution', 'attack.t1547.001']));
    expect(placed.map((p) => [p.tactic.shortname, p.techniques.map((t) => t.technique.id)])).toEqual([
      ['execution', []],
      ['persistence', ['T1547']],
      ['privilege-escalation', ['T1547']],
    ]);
  });

  it('reports revoked, deprecated and unknown ids; groups and software are not techniques', () => {
    const a = ruleAttack(['attack.t1086', 'attack.t1026', 'attack.t9999', 'attack.g0016', 'attack.s0002', 'car.2013-05-004']);
    expect(a.problems.map((p) => [p.index, p.message])).toEqual([
      [0, "tag 'attack.t1086': ATT&CK revoked T1086 (PowerShell); use attack.t1059.001 (Command and Scripting Interpreter: PowerShell)"],
      [1, "tag 'attack.t1026': ATT&CK deprecated T1026 (Multiband Communication) with no replacement; remove the tag"],
      [2, "tag 'attack.t9999': T9999 is not a technique of ATT&CK Enterprise v18.1 (backends/attack/); check the id, or update the tables if it is newer"],
    ]);
    expect(a.unknown).toEqual(['T9999']);
  });

  it('check warns at the tag of a revoked technique, naming the replacement', () => {
    const text = 'title: t\nlogsource: {category: process_creation, product: windows}\ntags:\n  - attack.execution\n  - attack.t1086\ndetection:\n  sel: {Image: x}\n  condition: sel\n';
    const diags = parseRuleText(text, 'r.yml').documents.flatMap((d) => d.diagnostics);
    expect(diags).toEqual([expect.objectContaining({ severity: 'warning', code: 'attack-tag', line: 5, column: 5 })]);
    expect(diags[0]!.message).toContain('use attack.t1059.001');
  });
});

describe('Elastic threat[]', () => {
  it('names techniques and lists each under its own tactic only', () => {
    const notes: string[] = [];
    const threat = threatOf(['attack.execution', 'attack.command-and-control', 'attack.t1105', 'attack.t1059.001', 'attack.t1086'], notes);
    expect(threat).toEqual([
      {
        framework: 'MITRE ATT&CK',
        tactic: { id: 'TA0002', name: 'Execution', reference: 'https://attack.mitre.org/tactics/TA0002/' },
        technique: [
          {
            id: 'T1059',
            name: 'Command and Scripting Interpreter',
            reference: 'https://attack.mitre.org/techniques/T1059/',
            subtechnique: [{ id: 'T1059.001', name: 'PowerShell', reference: 'https://attack.mitre.org/techniques/T1059/001/' }],
          },
        ],
      },
      {
        framework: 'MITRE ATT&CK',
        tactic: { id: 'TA0011', name: 'Command and Control', reference: 'https://attack.mitre.org/tactics/TA0011/' },
        technique: [{ id: 'T1105', name: 'Ingress Tool Transfer', reference: 'https://attack.mitre.org/techniques/T1105/' }],
      },
    ]);
    expect(notes).toEqual(['threat: ATT&CK T1086 is revoked (now T1059.001); it is left out']);
  });
});

describe('Elastic schedule', () => {
  const rule = (schedule: string): string =>
    `title: t\nid: 5f1b7a1e-6d0e-4f7b-8a2a-0d6c1c2b3a40\nlogsource: {category: process_creation, product: windows}\nschedule: {${schedule}}\ndetection:\n  sel: {Image: x}\n  condition: sel\n`;
  const ndjson = (schedule: string): string => {
    const r = eqlPlatform('ecs-windows').compile(inputOf(rule(schedule)), 'elastic-ndjson');
    return r.ok ? r.output : `error: ${r.error}`;
  };

  it('takes the eql override, and refuses continuous', () => {
    expect(JSON.parse(ndjson('frequency: 1h, eql: {frequency: 10m, lookback: 15m}'))).toMatchObject({ interval: '10m', from: 'now-15m' });
    expect(ndjson('frequency: continuous')).toBe(
      'error: schedule.frequency continuous: Elastic runs rules at an interval; continuous runs are Defender XDR custom detections only (set it under schedule.defender-xdr)',
    );
  });
});

describe.skipIf(!existsSync(SIGMAHQ))('ATT&CK of the SigmaHQ corpus', () => {
  it('every Elastic threat entry names its techniques as ATT&CK does and holds only techniques of its tactic', () => {
    const { rules } = loadCollection([SIGMAHQ]);
    let entries = 0;
    const wrong: string[] = [];
    for (const r of rules) {
      if (r.rule?.kind !== 'detection') continue;
      for (const t of threatOf(r.rule.tags)) {
        const shortname = tactic(t.tactic.id)!.shortname;
        for (const tech of t.technique) {
          entries++;
          const live = technique(tech.id);
          if (!live || live.retired || tech.name !== live.name || !live.tactics.includes(shortname)) wrong.push(`${r.path}: ${tech.id} under ${shortname}`);
          for (const s of tech.subtechnique ?? []) {
            const sub = technique(s.id)!;
            if (!s.id.startsWith(`${tech.id}.`) || s.name !== ownName(sub) || !sub.tactics.includes(shortname)) wrong.push(`${r.path}: ${s.id} under ${tech.id}/${shortname}`);
          }
        }
      }
    }
    expect(entries).toBeGreaterThan(2000);
    expect(wrong).toEqual([]);
  }, 120_000);
});
