/**
 * MITRE ATT&CK Enterprise (v18.1) lookups: tactics, techniques and their placement, read from the
 * tables in backends/attack/ (MITRE's licence and the tables' provenance are in its README.md).
 * Target-neutral: every artifact printer and the rule checks read ATT&CK through this module only.
 * The tables are loaded on first use.
 */
import { readFileSync } from 'node:fs';
import { backendFile } from '../config/mapping.js';

export interface Tactic {
  /** `TA0002` */
  id: string;
  /** `execution`: the Sigma tag suffix (`attack.execution`) and the STIX kill-chain phase name. */
  shortname: string;
  /** `Execution` */
  name: string;
  /** 1-based column of the Enterprise matrix. */
  order: number;
}

export interface Technique {
  /** `T1059` or `T1059.001` */
  id: string;
  /** Sub-techniques read "Parent: Sub", as ATT&CK's own tables print them. */
  name: string;
  /** Shortnames of the tactics the technique belongs to, in matrix order. */
  tactics: readonly string[];
  platforms: readonly string[];
  /** Revoked or deprecated: no longer part of ATT&CK. */
  retired: boolean;
  /** The technique a revoked one was merged into (one step; see `replacementOf` for the live end). */
  revokedBy?: string;
}

let data: { tactics: Tactic[]; byTactic: Map<string, Tactic>; techniques: Map<string, Technique> } | undefined;

function rows(file: string): string[][] {
  const lines = readFileSync(backendFile('attack', file), 'utf8').split('\n').filter((l) => l !== '');
  return lines.slice(1).map((l) => l.split('\t'));
}

function load(): NonNullable<typeof data> {
  if (data) return data;
  const tactics = rows('tactics.tsv')
    .map(([id, shortname, name, order]) => ({ id: id!, shortname: shortname!, name: name!, order: Number(order) }))
    .sort((a, b) => a.order - b.order);
  const byTactic = new Map<string, Tactic>();
  for (const t of tactics) {
    byTactic.set(t.shortname, t);
    byTactic.set(t.id, t);
  }
  const techniques = new Map<string, Technique>();
  for (const [id, name, tacticList, platforms, retired, revokedBy] of rows('techniques.tsv')) {
    techniques.set(id!, {
      id: id!,
      name: name!,
      tactics: tacticList ? tacticList.split(',') : [],
      platforms: platforms ? platforms.split(',') : [],
      retired: retired === '1',
      ...(revokedBy ? { revokedBy } : {}),
    });
  }
  data = { tactics, byTactic, techniques };
  return data;
}

/** The Enterprise tactics in matrix order. */
export function allTactics(): readonly Tactic[] {
  return load().tactics;
}

/** A tactic by shortname (`defense-evasion`) or id (`TA0005`). */
export function tactic(key: string): Tactic | undefined {
  return load().byTactic.get(key);
}

/** Every technique and sub-technique of the tables (retired ones included), by number. */
export function allTechniques(): readonly Technique[] {
  return [...load().techniques.values()];
}

/** A technique or sub-technique by id (`T1059.001`, case-insensitive), live or retired. */
export function technique(id: string): Technique | undefined {
  return load().techniques.get(id.toUpperCase());
}

/** The tactics a technique belongs to, in matrix order (empty for an unknown id). */
export function tacticsOf(id: string): Tactic[] {
  return (technique(id)?.tactics ?? []).map((s) => tactic(s)).filter((t): t is Tactic => t !== undefined);
}

/**
 * The live technique a revoked one now is, following ATT&CK's revoked-by chain to its end
 * (T1073 -> T1574.002 -> T1574.001); undefined when the id is live, deprecated without a
 * replacement, or unknown.
 */
export function replacementOf(id: string): Technique | undefined {
  let t = technique(id);
  if (!t?.revokedBy) return undefined;
  for (let hops = 0; t?.revokedBy && hops < 10; hops++) t = technique(t.revokedBy);
  return t && !t.retired ? t : undefined;
}

/** A sub-technique's own name (`PowerShell` for T1059.001), as Elastic and ATT&CK's web pages show it. */
export function ownName(t: Technique): string {
  return t.id.includes('.') ? t.name.slice(t.name.indexOf(': ') + 2) : t.name;
}

/** Tactic names without spaces, as Sentinel and Defender spell them (`CommandAndControl`). */
export function compactName(t: Tactic): string {
  return t.name
    .split(/[^A-Za-z]+/)
    .map((w) => w.charAt(0).toUpperCase() + w.slice(1))
    .join('');
}

export function tacticUrl(t: Tactic): string {
  return `https://attack.mitre.org/tactics/${t.id}/`;
}

export function techniqueUrl(id: string): string {
  return `https://attack.mitre.org/techniques/${id.replace('.', '/')}/`;
}

/** What a rule's `attack.*` tags say, resolved against ATT&CK. */
export interface RuleAttack {
  /** Tagged tactics, in matrix order. */
  tactics: Tactic[];
  /** Tagged techniques and sub-techniques known to ATT&CK (retired ones included), in tag order. */
  techniques: Technique[];
  /** Technique ids of the tags that ATT&CK v18.1 does not know (newer releases, typos). */
  unknown: string[];
  /** Tag problems, one sentence each (retired or unknown ids); the tag's index in `tags`. */
  problems: { index: number; message: string }[];
}

/** Resolve the `attack.*` tags of a rule (`attack.execution`, `attack.t1059.001`, `attack.ta0002`). */
export function ruleAttack(tags: readonly string[]): RuleAttack {
  const tactics = new Set<Tactic>();
  const techniques = new Map<string, Technique>();
  const problems: RuleAttack['problems'] = [];
  const unknown: string[] = [];
  tags.forEach((tag, index) => {
    const m = /^attack\.(.+)$/i.exec(tag);
    if (!m) return;
    const v = m[1]!.toLowerCase();
    const ta = tactic(v) ?? (/^ta\d{4}$/.test(v) ? tactic(v.toUpperCase()) : undefined);
    if (ta) {
      tactics.add(ta);
      return;
    }
    if (!/^t\d{4}(\.\d{3})?$/.test(v)) return; // groups (g0001), software (s0001), car.* and the like
    const t = technique(v);
    if (!t) {
      if (!unknown.includes(v.toUpperCase())) unknown.push(v.toUpperCase());
      problems.push({ index, message: `tag '${tag}': ${v.toUpperCase()} is not a technique of ATT&CK Enterprise v18.1 (backends/attack/); check the id, or update the tables if it is newer` });
      return;
    }
    if (t.retired) {
      const r = replacementOf(t.id);
      problems.push({
        index,
        message: r
          ? `tag '${tag}': ATT&CK revoked ${t.id} (${t.name}); use attack.${r.id.toLowerCase()} (${r.name})`
          : `tag '${tag}': ATT&CK deprecated ${t.id} (${t.name}) with no replacement; remove the tag`,
      });
    }
    techniques.set(t.id, t);
  });
  return { tactics: [...tactics].sort((a, b) => a.order - b.order), techniques: [...techniques.values()], unknown, problems };
}

/** What an artifact leaves out of a rule's ATT&CK tags, one sentence each: retired and unknown technique ids. */
export function leftOut(attack: RuleAttack): string[] {
  const out: string[] = [];
  for (const t of attack.techniques) {
    if (!t.retired) continue;
    const r = replacementOf(t.id);
    out.push(`ATT&CK ${t.id} is ${r ? `revoked (now ${r.id})` : 'deprecated'}; it is left out`);
  }
  if (attack.unknown.length) out.push(`${attack.unknown.join(', ')} not in ATT&CK v18.1; left out`);
  return out;
}

/** A technique and the sub-techniques of it the rule names, each with its ATT&CK name. */
export interface PlacedTechnique {
  technique: Technique;
  subtechniques: Technique[];
}

/**
 * Each tactic of a rule with the techniques that belong to it. A technique goes under those of its
 * ATT&CK tactics the rule tags; when the rule tags none of them, under all of its ATT&CK tactics
 * (which are added), so no technique is dropped or placed under a tactic it does not serve.
 * A sub-technique is nested under its parent; retired ids are left out (the check warns of them).
 */
export function placeTechniques(attack: RuleAttack): { tactic: Tactic; techniques: PlacedTechnique[] }[] {
  const tagged = new Set(attack.tactics.map((t) => t.shortname));
  const placed = new Map<string, Map<string, PlacedTechnique>>();
  for (const t of attack.tactics) placed.set(t.shortname, new Map());
  for (const t of attack.techniques) {
    if (t.retired) continue;
    const parentId = t.id.split('.')[0]!;
    const parent = technique(parentId);
    if (!parent) continue;
    const homes = t.tactics.filter((s) => tagged.has(s));
    for (const s of homes.length ? homes : t.tactics) {
      let under = placed.get(s);
      if (!under) placed.set(s, (under = new Map()));
      let p = under.get(parentId);
      if (!p) under.set(parentId, (p = { technique: parent, subtechniques: [] }));
      if (t.id !== parentId && !p.subtechniques.includes(t)) p.subtechniques.push(t);
    }
  }
  return [...placed]
    .map(([s, techniques]) => ({ tactic: tactic(s)!, techniques: [...techniques.values()] }))
    .sort((a, b) => a.tactic.order - b.tactic.order);
}
