/**
 * What a reviewer sees of a plan, before it becomes text or markdown: the
 * same view for both renderers, so they never disagree.
 *
 * - The risk list, in the order a reviewer should read it: changes to the
 *   rules (plan.governance: approvals, reviewers, policies), deletes,
 *   prunes (deletes of live objects no manifest declares), the flags of the
 *   risk policies (management VLAN off a port, destructive-change cap), and
 *   VLANs deleted while ports still use them.
 * - The changes grouped per environment, then per target; on a target,
 *   changes that one resource makes identically to several objects (a port
 *   range) are one block naming the range; objects in natural order
 *   (Gi1/0/2 before Gi1/0/10).
 * - VLAN names next to ids, where the plan knows them (its VLAN changes).
 * - Values as written: a Windows path is `"C:\Shares"`, not JSON's
 *   `"C:\\Shares"`.
 */
import type { Change, FieldDiff, Plan, SourcePos } from '../types.js';
import { actionWord, fieldName, isRiskPolicy, isTextBlock, targetName, unifiedDiff } from './common.js';

/** Natural order: digits compare as numbers (Gi1/0/2 < Gi1/0/10, 1/1/9 < 1/1/10). */
export const naturalCompare = new Intl.Collator('en', { numeric: true, sensitivity: 'base' }).compare;

// ------------------------------------------------------------------ values

/** A value as the manifest writes it: strings quoted but not JSON-escaped (backslashes stay single). */
export function showValue(v: unknown): string {
  if (v === undefined) return '(unset)';
  if (typeof v === 'string') return `"${v.replace(/\r/g, '\\r').replace(/\n/g, '\\n')}"`;
  if (Array.isArray(v)) return `[${v.map(showValue).join(', ')}]`;
  if (v && typeof v === 'object') return `{${Object.entries(v).map(([k, x]) => `${k}: ${showValue(x)}`).join(', ')}}`;
  return JSON.stringify(v);
}

const VLAN_FIELDS = new Set(['/accessVlan', '/nativeVlan', '/allowedVlans', '/vlan']);

/** VLAN names per target, from the plan's VLAN changes (the name after the change, else before it). */
export function vlanNames(plan: Plan): (target: string, id: unknown) => string | undefined {
  const byTarget = new Map<string, Map<number, string>>();
  for (const c of plan.changes) {
    if (c.kind !== 'Vlan') continue;
    const name = (c.after?.name ?? c.before?.name) as unknown;
    if (typeof name !== 'string' || !name) continue;
    (byTarget.get(c.target) ?? byTarget.set(c.target, new Map()).get(c.target)!).set(Number(c.id), name);
  }
  return (target, id) => (typeof id === 'number' ? byTarget.get(target)?.get(id) : undefined);
}

/** A field value with VLAN names next to VLAN ids (`100 (RZ-MGMT)`), for the VLAN fields of a port. */
export function showFieldValue(d: FieldDiff, v: unknown, target: string, names: ReturnType<typeof vlanNames>): string {
  if (!VLAN_FIELDS.has(d.path)) return showValue(v);
  const one = (x: unknown) => {
    const n = names(target, x);
    return n ? `${showValue(x)} (${n})` : showValue(x);
  };
  return Array.isArray(v) ? `[${v.map(one).join(', ')}]` : one(v);
}

/** What a change's object is: kind, id and, for a VLAN, its name. */
export function objectParts(c: Change): { kind: string; id: string; name?: string } {
  const name = c.kind === 'Vlan' ? ((c.after?.name ?? c.before?.name) as unknown) : undefined;
  return typeof name === 'string' && name ? { kind: c.kind, id: c.id, name } : { kind: c.kind, id: c.id };
}

/** How a change names its object: `Vlan 30 (LEHRER)`, `File /etc/motd`. */
export function objectLabel(c: Change): string {
  const o = objectParts(c);
  return `${o.kind} ${o.id}${o.name ? ` (${o.name})` : ''}`;
}

/** A block's field differences: text content as a unified diff, the rest one line each. */
export type FieldLine = { kind: 'line'; text: string } | { kind: 'diff'; name: string; diff: string };

export function fieldLines(b: Block, names: ReturnType<typeof vlanNames>): FieldLine[] {
  const c = b.change;
  if (isPureDelete(c)) return [];
  const val = (d: FieldDiff, v: unknown) => showFieldValue(d, v, c.target, names);
  return c.diff.map((d): FieldLine => {
    const name = fieldName(d);
    if (isTextBlock(d)) return { kind: 'diff', name, diff: unifiedDiff(d, c.id) };
    if (d.sensitive) return { kind: 'line', text: `${name}: (sensitive value ${c.actions[0] === 'create' ? 'set' : 'changes'}: ${showValue(d.after)})` };
    return { kind: 'line', text: c.actions[0] === 'create' ? `${name}: ${val(d, d.after)}` : `${name}: ${val(d, d.before)} -> ${val(d, d.after)}` };
  });
}

/** What a block is about, after its address: `Vlan 30 (LEHRER) on core-01`, `24 SwitchPorts on core-01`. */
export function blockLabel(b: Block): string {
  return b.ids.length > 1 ? `${b.ids.length} ${b.change.kind}s on ${targetName(b.change)}` : `${objectLabel(b.change)} on ${targetName(b.change)}`;
}

// ------------------------------------------------------------------ trust

/** Where the plan's gating rules came from, for the header. */
export function trustLine(plan: Plan): string | undefined {
  const t = plan.trust;
  if (!t) return undefined;
  if (t.source === 'working-tree' || !t.ref) return 'rules from the working tree';
  return `rules from ${t.ref}${t.commit ? ` (${t.commit.slice(0, 12)})` : ''}`;
}

// ------------------------------------------------------------------ risk

export type RiskCategory = 'governance' | 'delete' | 'prune' | 'flag' | 'vlan-in-use';

export interface RiskItem {
  category: RiskCategory;
  /** One line for a reviewer. */
  text: string;
  address: string;
  pos?: SourcePos;
}

const isPrune = (c: Change) => c.address.includes('/unmanaged:');
const isPureDelete = (c: Change) => c.actions.length === 1 && c.actions[0] === 'delete';

/**
 * The risk list, in reading order (see the header). A risk policy's flag on a
 * VLAN delete that names ports still using the VLAN (network-risk's wording,
 * "still use") is listed last, under the VLANs still in use.
 */
export function riskItems(plan: Plan): RiskItem[] {
  const items: RiskItem[] = [];
  for (const g of plan.governance ?? []) {
    const name = g.address.split('/').pop() ?? g.address;
    items.push({ category: 'governance', text: `${g.action} ${g.kind} ${name}${g.fields.length ? `: ${g.fields.join(', ')}` : ''}`, address: g.address, pos: g.pos });
  }
  const deletes = plan.changes.filter(isPureDelete);
  for (const c of deletes.filter((x) => !isPrune(x))) items.push({ category: 'delete', text: `delete ${objectLabel(c)} on ${targetName(c)}`, address: c.address, pos: c.pos });
  for (const c of deletes.filter(isPrune)) items.push({ category: 'prune', text: `prune ${objectLabel(c)} on ${targetName(c)} (declared by no manifest)`, address: c.address });
  const vlanDeletes = new Set(deletes.filter((c) => c.kind === 'Vlan').map((c) => c.address));
  const flags = plan.policy.filter(isRiskPolicy).flatMap((p) => p.violations.map((v) => ({ ...v, policy: p.name })));
  const inUse = (f: { address: string; message: string }) => vlanDeletes.has(f.address) && /still use/.test(f.message);
  for (const f of flags.filter((x) => !inUse(x))) items.push({ category: 'flag', text: f.message, address: f.address, pos: f.pos });
  for (const f of flags.filter(inUse)) items.push({ category: 'vlan-in-use', text: f.message, address: f.address, pos: f.pos });
  return items;
}

// ------------------------------------------------------------------ groups

/** One change, or identical changes of one resource to several objects of a target (a port range). */
export interface Block {
  /** The first change (all of a block's changes have its actions and field differences). */
  change: Change;
  /** Object ids in natural order. */
  ids: string[];
  /** The address shown: the change's, or the resource's with the range (`env/SwitchPort/classrooms[Gi1/0/1-24]`). */
  address: string;
}

export interface TargetGroup {
  target: string;
  /** `4 create, 24 update` (per change, not per block). */
  counts: string;
  changes: number;
  blocks: Block[];
}

export interface EnvironmentGroup {
  env: string;
  targets: TargetGroup[];
}

/**
 * Port ids as ranges: consecutive ids that differ only in their last number
 * become `Gi1/0/1-24` (`1/1/1-24` on AOS-CX), others are listed.
 */
export function idRanges(ids: string[]): string {
  const sorted = [...ids].sort(naturalCompare);
  const parts: string[] = [];
  let start: { prefix: string; n: number; id: string } | undefined;
  let last: { prefix: string; n: number; id: string } | undefined;
  const flush = () => {
    if (start && last) parts.push(start === last ? start.id : `${start.id}-${last.n}`);
  };
  for (const id of sorted) {
    const m = /^(.*?)(\d+)$/.exec(id);
    const cur = m ? { prefix: m[1], n: Number(m[2]), id } : { prefix: id, n: NaN, id };
    if (last && m && cur.prefix === last.prefix && cur.n === last.n + 1) {
      last = cur;
      continue;
    }
    flush();
    start = last = cur;
  }
  flush();
  return parts.join(', ');
}

/** What makes two changes of one resource identical for a reviewer: actions and field differences. */
function sameChangeKey(c: Change): string {
  return JSON.stringify([c.resource, c.kind, c.actions, c.diff.map((d) => [d.path, d.before, d.after, !!d.sensitive])]);
}

function blocksOf(changes: Change[]): Block[] {
  const groups = new Map<string, Change[]>();
  for (const c of changes) {
    const k = sameChangeKey(c);
    (groups.get(k) ?? groups.set(k, []).get(k)!).push(c);
  }
  const blocks = [...groups.values()].map((list): Block => {
    const ids = list.map((c) => c.id).sort(naturalCompare);
    const first = list.find((c) => c.id === ids[0])!;
    return { change: first, ids, address: list.length > 1 ? `${first.resource}[${idRanges(ids)}]` : first.address };
  });
  return blocks.sort((a, b) => naturalCompare(a.change.kind, b.change.kind) || naturalCompare(a.ids[0], b.ids[0]) || naturalCompare(a.address, b.address));
}

function countsOf(changes: Change[]): string {
  const counts = new Map<string, number>();
  for (const c of changes) counts.set(actionWord(c), (counts.get(actionWord(c)) ?? 0) + 1);
  return [...counts].map(([k, n]) => `${n} ${k}`).join(', ');
}

/** The plan's changes per environment (in the plan's order of environments), per target, as blocks. */
export function groupChanges(plan: Plan): EnvironmentGroup[] {
  const byEnv = new Map<string, Map<string, Change[]>>();
  for (const env of plan.environments) byEnv.set(env, new Map());
  for (const c of plan.changes) {
    const env = c.target.split('/')[0];
    const targets = byEnv.get(env) ?? byEnv.set(env, new Map()).get(env)!;
    (targets.get(c.target) ?? targets.set(c.target, []).get(c.target)!).push(c);
  }
  return [...byEnv]
    .filter(([, targets]) => targets.size)
    .map(([env, targets]) => ({
      env,
      targets: [...targets]
        .sort(([a], [b]) => naturalCompare(a, b))
        .map(([target, changes]) => ({ target, counts: countsOf(changes), changes: changes.length, blocks: blocksOf(changes) })),
    }));
}

// ------------------------------------------------------------------ budget

/** Output assembled within a character budget; what did not fit is counted, never cut mid-line. */
export class Budget {
  private parts: string[] = [];
  private used = 0;

  constructor(private readonly max: number) {}

  get length(): number {
    return this.used;
  }

  /** Adds `s` if it fits with `reserve` characters left over; says whether it did. */
  add(s: string, reserve = 0): boolean {
    if (this.used + s.length + reserve > this.max) return false;
    this.parts.push(s);
    this.used += s.length;
    return true;
  }

  text(): string {
    return this.parts.join('');
  }
}
