/**
 * Built-in plan-time policy `builtin/destructive-change-cap` (advisory).
 *
 * Per environment of the plan: if the plan deletes more than `maxDeletes`
 * resources, or more than `maxDeletePercent` % of the environment's
 * resources, the plan needs one extra approval (`extraApprovals: 1`, once per
 * plan however many environments exceed). Settings come from
 * `Environment.spec.policies` (`maxDeletes`, default 10; `maxDeletePercent`,
 * default 20).
 *
 * A resource counts as deleted when it has a pure delete change (`["delete"]`);
 * a resource that expands to several objects counts once. Replaces
 * (`["delete","create"]`) are not removals. The share is deleted resources
 * divided by the environment's device-level resources (manifest resources plus
 * deleted ones no longer in the manifests).
 */
import type { Change, PolicyResult, PolicyViolation, Resource } from '../engine/types.js';
import { environmentsByName, META_KINDS, posAt } from './util.js';

export const DESTRUCTIVE_CAP = 'builtin/destructive-change-cap';
export const DEFAULT_MAX_DELETES = 10;
export const DEFAULT_MAX_DELETE_PERCENT = 20;

function num(v: unknown, dflt: number): number {
  return typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : dflt;
}

function envOf(address: string): string {
  const i = address.indexOf('/');
  return i < 0 ? address : address.slice(0, i);
}

export function destructiveCapPolicy(
  zoneResources: Resource[],
  changes: Change[],
  byAddress: Map<string, Resource> = new Map(zoneResources.map((r) => [r.address, r])),
): PolicyResult {
  const deleted = new Map<string, Set<string>>();
  for (const c of changes) {
    if (!Array.isArray(c?.actions) || c.actions.length !== 1 || c.actions[0] !== 'delete') continue;
    const resAddr = typeof c.resource === 'string' ? c.resource : String(c.address);
    const env = envOf(resAddr);
    let s = deleted.get(env);
    if (!s) deleted.set(env, (s = new Set()));
    s.add(resAddr);
  }
  const envs = environmentsByName(zoneResources);
  const present = new Map<string, number>();
  for (const r of zoneResources) if (!META_KINDS.has(r.kind)) present.set(r.env, (present.get(r.env) ?? 0) + 1);
  const violations: PolicyViolation[] = [];
  for (const [env, del] of deleted) {
    const envRes = envs.get(env);
    const settings = envRes?.spec?.policies ?? {};
    const maxDeletes = num(settings.maxDeletes, DEFAULT_MAX_DELETES);
    const maxPercent = num(settings.maxDeletePercent, DEFAULT_MAX_DELETE_PERCENT);
    let gone = 0; // deleted resources no longer in the manifests
    for (const a of del) if (!byAddress.has(a)) gone++;
    const total = (present.get(env) ?? 0) + gone;
    const percent = total ? (100 * del.size) / total : 100;
    if (del.size > maxDeletes || percent > maxPercent) {
      violations.push({
        address: envRes?.address ?? `${env}/Environment/${env}`,
        message:
          `plan deletes ${del.size} of ${total} resources (${percent.toFixed(1)}%) in ${env}, ` +
          `more than ${maxDeletes} or ${maxPercent}%: one extra approval is required`,
        pos: envRes ? posAt(envRes, '/spec/policies') : undefined,
      });
    }
  }
  return {
    name: DESTRUCTIVE_CAP,
    enforcement: 'advisory',
    passed: violations.length === 0,
    violations,
    extraApprovals: violations.length ? 1 : 0,
  };
}
