/**
 * Built-in plan-time policies over license pools (DESIGN.md, "license
 * management"): einklang sees the pools and the rollouts that consume them in
 * one plan, so it refuses an over-licensed rollout before it happens instead
 * of counting afterwards.
 *
 *   builtin/license-seats     mandatory
 *     E_LICENSE_SEATS    demand (license-demand.ts) above `seats`: names the
 *                        pool, the demand, the seats and every covering
 *                        deployment or app with file:line:col
 *     E_LICENSE_EXPIRED  a pool past its `expires` day that still covers
 *                        something that consumes seats
 *     E_LICENSE_IN_USE   a pool the plan deletes (prune) while its server
 *                        reports seats checked out: the server refuses that
 *   builtin/license-warnings  advisory
 *     W_LICENSE_EXPIRING        expires within 60 days
 *     W_LICENSE_SEATS_ASSIGNED  the plan lowers `seats` below the seats checked
 *                               out on the server (apply will be refused)
 *     W_LICENSE_DEMAND_UNKNOWN  part of the demand cannot be counted at plan
 *                               time (dynamic groups not created yet, apps
 *                               assigned to all devices)
 *
 * The mandatory result also carries the license table of the markdown plan
 * (`licenses`: pool, seats, assigned on the server, demand, expiry). Plans
 * without License resources get neither result. "Today" is the local date of
 * the machine that plans; a pool is valid through its `expires` day.
 */
import type { Change, LicenseUsage, ObservedObject, PolicyResult, PolicyViolation, Resource } from '../engine/types.js';
import { DemandCounter, liveGroupMembers, type PoolDemand } from './license-demand.js';
import { posAt } from './util.js';

export const LICENSE_SEATS = 'builtin/license-seats';
export const LICENSE_WARNINGS = 'builtin/license-warnings';
/** A pool expiring within this many days is worth a warning. */
export const EXPIRY_WARNING_DAYS = 60;

/** `YYYY-MM-DD` of a local date. */
export function localDate(d: Date = new Date()): string {
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
}

/** Whole days from `from` to `to` (both YYYY-MM-DD). */
function daysBetween(from: string, to: string): number {
  return Math.round((Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / 86_400_000);
}

const at = (r: Resource | undefined) => (r ? `${r.pos.file}:${r.pos.line}:${r.pos.col}` : '(not declared)');
const poolOf = (r: Resource) => (typeof r.spec?.name === 'string' ? r.spec.name : r.name);

function coverList(d: PoolDemand): string {
  return d.covers.map((c) => `${c.kind} ${c.name} (${at(c.resource)}): ${c.via}`).join('; ');
}

export interface LicensePolicyInput {
  zoneResources: Resource[];
  changes: Change[];
  observed?: ObservedObject[];
  /** YYYY-MM-DD; default the local date. */
  today?: string;
}

export function licensePolicies(input: LicensePolicyInput): PolicyResult[] {
  const licenses = input.zoneResources.filter((r) => r.kind === 'License');
  const pruned = input.changes.filter((c) => c?.kind === 'License' && c.actions?.length === 1 && c.actions[0] === 'delete');
  if (!licenses.length && !pruned.length) return [];
  const today = input.today ?? localDate();
  const counter = new DemandCounter(input.zoneResources, liveGroupMembers(input.observed));
  const liveState = new Map((input.observed ?? []).filter((o) => o?.kind === 'License').map((o) => [o.resource, o.state]));
  const mandatory: PolicyViolation[] = [];
  const advisory: PolicyViolation[] = [];
  const table: LicenseUsage[] = [];

  for (const lic of licenses) {
    const seats = Number(lic.spec?.seats);
    const expires = typeof lic.spec?.expires === 'string' ? lic.spec.expires : null;
    const d = counter.pool(lic);
    const live = liveState.get(lic.address);
    const assigned = live && typeof live.assignedSeats === 'number' ? live.assignedSeats : null;
    const pool = `pool ${JSON.stringify(poolOf(lic))}`;
    const related = d.covers.filter((c) => c.resource).map((c) => ({ address: c.resource!.address, pos: c.resource!.pos }));
    table.push({ address: lic.address, pool: poolOf(lic), seats, assigned, demand: d.devices.size, ...(d.unknown.length ? { demandIncomplete: true } : {}), expires });

    if (d.devices.size > seats) {
      mandatory.push({
        address: lic.address,
        code: 'E_LICENSE_SEATS',
        message: `${pool}: demand ${d.devices.size} device(s) exceeds ${seats} seat(s) by ${d.devices.size - seats}; covered: ${coverList(d)}`,
        pos: posAt(lic, '/spec/seats'),
        related,
      });
    }
    const consuming = d.covers.filter((c) => c.consumes);
    if (expires && expires < today && consuming.length) {
      mandatory.push({
        address: lic.address,
        code: 'E_LICENSE_EXPIRED',
        message: `${pool} expired on ${expires} but still covers ${consuming.map((c) => `${c.kind} ${c.name} (${at(c.resource)})`).join(', ')}: renew it (new expires) or stop the rollouts`,
        pos: posAt(lic, '/spec/expires'),
        related,
      });
    } else if (expires && expires >= today && daysBetween(today, expires) <= EXPIRY_WARNING_DAYS) {
      advisory.push({ address: lic.address, code: 'W_LICENSE_EXPIRING', message: `${pool} expires on ${expires}, in ${daysBetween(today, expires)} day(s)`, pos: posAt(lic, '/spec/expires') });
    }
    if (assigned !== null && seats < assigned) {
      advisory.push({
        address: lic.address,
        code: 'W_LICENSE_SEATS_ASSIGNED',
        message: `${pool}: the plan lowers seats to ${seats}, but ${assigned} seat(s) are checked out on the server, which refuses to remove them: apply will fail for this pool until seats are checked in`,
        pos: posAt(lic, '/spec/seats'),
      });
    }
    for (const why of d.unknown) advisory.push({ address: lic.address, code: 'W_LICENSE_DEMAND_UNKNOWN', message: `${pool}: demand ${d.devices.size} may be low: ${why}`, pos: posAt(lic, '/spec/covers') });
  }

  for (const c of pruned) {
    const used = c.before && typeof c.before.assignedSeats === 'number' ? c.before.assignedSeats : 0;
    if (used > 0) {
      mandatory.push({
        address: c.address,
        code: 'E_LICENSE_IN_USE',
        message: `the plan deletes pool ${JSON.stringify(c.id)} on ${c.target} (prune), but ${used} seat(s) are checked out and the server refuses to delete it: check them in first, or declare the pool`,
        pos: c.pos,
      });
    }
  }

  return [
    { name: LICENSE_SEATS, enforcement: 'mandatory', passed: mandatory.length === 0, violations: mandatory, licenses: table },
    { name: LICENSE_WARNINGS, enforcement: 'advisory', passed: advisory.length === 0, violations: advisory },
  ];
}
