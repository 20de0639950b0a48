/**
 * Stage 10: apply exactly a saved plan.
 *
 * Order of events, each a point where the apply can stop before it writes:
 *  1. the checks in apply-checks.ts (hash, applyable, governance) refuse or pass;
 *  2. every target with changes is connected (one read-write session each)
 *     and re-read; if any change's live fingerprint differs from the plan, or
 *     a secret changed since planning, the whole apply is refused: "plan is
 *     stale: re-plan". Nothing has been written at that point.
 *  3. the walk: changes in dependency order, bounded concurrency across
 *     targets, one change at a time per target for non-transactional drivers,
 *     one transaction per target for transactional ones. A failure skips
 *     everything that depends on it; independent work goes on (terraform's
 *     dag walk).
 *  4. each target is read again and compared with the planned state; a
 *     difference is a failure, never a silent success.
 */
import PQueue from 'p-queue';
import type { Catalog, Change, Driver, ReadRequest, TargetWriter } from './types.js';
import { DriverError, objectKey } from './types.js';
import { liveFingerprint } from './hash.js';
import { diffObject } from './diff.js';
import { targetSpec, type PlannedTarget } from './targets.js';
import type { Secrets } from './secrets.js';
import type { PlanWithTargets } from './plan.js';
import { Graph } from './graph.js';
import type { JournalResult } from './governance/journal.js';

export interface ApplyEvent {
  phase: 'connect' | 'apply' | 'verify';
  done: number;
  total: number;
  target: string;
  ok: boolean;
  message?: string;
}

export interface ApplyOptions {
  catalog: Catalog;
  secrets: Secrets;
  concurrency?: number;
  timeoutMs?: number;
  progress?: (e: ApplyEvent) => void;
  /** Called once per target as soon as all of its changes are done (the journal's target entry); awaited before apply returns. */
  onTargetDone?: (target: string, results: JournalResult[]) => Promise<void>;
}

export interface ApplyReport {
  /** Set when nothing was applied because the plan was refused as a whole. */
  refused: string[];
  applied: string[];
  failed: { address: string; message: string; rolledBack?: boolean }[];
  skipped: { address: string; reason: string }[];
}

interface Unit {
  id: string;
  target: PlannedTarget;
  changes: Change[];
  deps: Set<string>;
}

/** What a read of planned changes asks for: the planned state, with secret values only for drivers that declare the need. */
function readRequests(driver: Driver, changes: Change[], resolvedAfter: Map<string, Change['after']>): ReadRequest[] {
  return changes.map((c) => ({
    kind: c.kind,
    id: c.id,
    state: (driver.readsResolvedSecrets ? resolvedAfter.get(c.address) : c.after) ?? c.before ?? {},
  }));
}

export async function applyPlan(plan: PlanWithTargets, opts: ApplyOptions): Promise<ApplyReport> {
  const report: ApplyReport = { refused: [], applied: [], failed: [], skipped: [] };
  if (!plan.changes.length) return report;
  const targets = new Map(plan.targets.map((t) => [t.address, t]));
  const changesByTarget = new Map<string, Change[]>();
  for (const c of plan.changes) {
    if (!targets.has(c.target)) {
      report.refused.push(`change ${c.address} names target ${c.target}, which the plan does not describe`);
      continue;
    }
    (changesByTarget.get(c.target) ?? changesByTarget.set(c.target, []).get(c.target)!).push(c);
  }
  if (report.refused.length) return report;

  // Secrets first: a rotated secret makes the plan stale, and a missing one refuses the plan, before any connection.
  const resolvedAfter = new Map<string, Change['after']>();
  try {
    for (const c of plan.changes) {
      for (const s of c.secrets ?? []) {
        if (typeof plan.secretSalt !== 'string' || opts.secrets.fingerprint(s.name, plan.secretSalt) !== s.fingerprint) report.refused.push(`plan is stale: re-plan (secret ${s.name} used by ${c.address} changed since the plan was made)`);
      }
      resolvedAfter.set(c.address, c.after ? opts.secrets.resolve(c.after, 'plan') : null);
    }
  } catch (e) {
    report.refused.push((e as Error).message);
  }
  if (report.refused.length) return report;

  const queue = new PQueue({ concurrency: opts.concurrency ?? 16 });
  const sessions = new Map<string, TargetWriter>();
  const driversByTarget = new Map<string, Driver>();
  const unreachable = new Map<string, string>();
  const targetList = [...changesByTarget.keys()];
  let done = 0;
  try {
    // 2. connect and re-read every target; refuse the whole plan if anything moved.
    await Promise.all(
      targetList.map((addr) =>
        queue.add(async () => {
          const t = targets.get(addr)!;
          const changes = changesByTarget.get(addr)!;
          try {
            const driver = await opts.catalog.driver(t.driver);
            driversByTarget.set(addr, driver);
            const w = await driver.connectWriter(targetSpec(t, opts.secrets), { timeoutMs: opts.timeoutMs });
            let res;
            try {
              res = await w.read(readRequests(driver, changes, resolvedAfter));
            } catch (e) {
              await w.close().catch(() => undefined);
              throw e;
            }
            // Only a target whose re-read succeeded (so whose staleness was checked) is ever written to.
            sessions.set(addr, w);
            const unmanaged = new Map((res.unmanaged ?? []).map((u) => [objectKey(u.kind, u.id), u]));
            for (const c of changes) {
              const key = objectKey(c.kind, c.id);
              const live = key in res.objects ? res.objects[key] : unmanaged.get(key) ?? null;
              if (liveFingerprint(live?.state ?? null) !== c.liveFingerprint) {
                report.refused.push(`plan is stale: re-plan (${c.address} on ${addr} changed since the plan was made)`);
              }
            }
            opts.progress?.({ phase: 'connect', done: ++done, total: targetList.length, target: addr, ok: true });
          } catch (e) {
            const msg = opts.secrets.scrub((e as Error).message);
            unreachable.set(addr, msg);
            opts.progress?.({ phase: 'connect', done: ++done, total: targetList.length, target: addr, ok: false, message: msg });
          }
        }),
      ),
    );
    if (report.refused.length) return report;

    // 3. the walk.
    const units = buildUnits(plan, targets, changesByTarget, sessions);
    const unitOf = new Map<string, Unit>();
    for (const u of units.values()) for (const c of u.changes) unitOf.set(c.address, u);
    const state = new Map<string, 'ok' | 'failed' | 'skipped'>();
    const targetLocks = new Map<string, Promise<unknown>>();
    const failedChanges = new Set<string>();
    done = 0;
    const total = units.size;
    // A unit's outcome; when a target's last unit settles, its journal entry is written (awaited below).
    const unsettled = new Map<string, number>();
    for (const u of units.values()) unsettled.set(u.target.address, (unsettled.get(u.target.address) ?? 0) + 1);
    const targetEntries: Promise<void>[] = [];
    const settle = (u: Unit, s: 'ok' | 'failed' | 'skipped'): void => {
      state.set(u.id, s);
      const left = unsettled.get(u.target.address)! - 1;
      unsettled.set(u.target.address, left);
      if (left === 0 && opts.onTargetDone) targetEntries.push(opts.onTargetDone(u.target.address, journalResults(report, changesByTarget.get(u.target.address)!)));
    };
    const runUnit = async (u: Unit): Promise<void> => {
      const w = sessions.get(u.target.address);
      if (!w) {
        for (const c of u.changes) report.failed.push({ address: c.address, message: `not applied: connecting to or re-reading ${u.target.address} failed: ${unreachable.get(u.target.address) ?? 'no session'}` });
        settle(u, 'failed');
        return;
      }
      const withSecrets = u.changes.map((c) => ({ ...c, after: resolvedAfter.get(c.address) ?? null }));
      try {
        if (w.mode === 'transaction') await w.applyTransaction(withSecrets);
        else for (const c of withSecrets) await w.applyChange(c);
        report.applied.push(...u.changes.map((c) => c.address));
        settle(u, 'ok');
      } catch (e) {
        const rolledBack = e instanceof DriverError ? e.opts.rolledBack : undefined;
        const msg = opts.secrets.scrub((e as Error).message ?? String(e));
        for (const c of u.changes) {
          report.failed.push({ address: c.address, message: msg, ...(rolledBack !== undefined ? { rolledBack } : {}) });
          failedChanges.add(c.address);
        }
        settle(u, 'failed');
      }
      opts.progress?.({ phase: 'apply', done: ++done, total, target: u.target.address, ok: state.get(u.id) === 'ok', message: state.get(u.id) === 'ok' ? undefined : report.failed[report.failed.length - 1]?.message });
    };
    await new Promise<void>((resolveAll) => {
      const started = new Set<string>();
      const pump = (): void => {
        let progressed = true;
        while (progressed) {
          progressed = false;
          for (const u of units.values()) {
            if (started.has(u.id)) continue;
            const depStates = [...u.deps].map((d) => state.get(d));
            if (depStates.some((s) => s === undefined)) continue;
            started.add(u.id);
            progressed = true;
            const bad = [...u.deps].find((d) => state.get(d) !== 'ok');
            if (bad) {
              const why = units.get(bad)!.changes.map((c) => c.address);
              for (const c of u.changes) report.skipped.push({ address: c.address, reason: `depends on ${why.join(', ')}, which ${state.get(bad) === 'failed' ? 'failed' : 'was skipped'}` });
              settle(u, 'skipped');
              continue;
            }
            // Non-transactional targets take one change at a time over their single session.
            const prev = targetLocks.get(u.target.address) ?? Promise.resolve();
            const run = prev.then(() => queue.add(() => runUnit(u)));
            targetLocks.set(u.target.address, run.catch(() => undefined));
            run.then(pump, pump);
          }
        }
        if (state.size === units.size) resolveAll();
      };
      pump();
    });
    await Promise.all(targetEntries);

    // 4. verify: read each target again and compare with the plan.
    const verifyTargets = [...changesByTarget.keys()].filter((a) => sessions.has(a));
    const appliedSet = new Set(report.applied);
    const unapply = (address: string) => report.applied.splice(report.applied.indexOf(address), 1);
    done = 0;
    await Promise.all(
      verifyTargets.map((addr) =>
        queue.add(async () => {
          const applied = changesByTarget.get(addr)!.filter((c) => appliedSet.has(c.address));
          if (!applied.length) return;
          try {
            const res = await sessions.get(addr)!.read(readRequests(driversByTarget.get(addr)!, applied, resolvedAfter));
            for (const c of applied) {
              const live = res.objects[objectKey(c.kind, c.id)] ?? (res.unmanaged ?? []).find((u) => u.kind === c.kind && u.id === c.id) ?? null;
              const want = resolvedAfter.get(c.address) ?? null;
              const d = diffObject(opts.catalog.kind(c.kind), want, live?.state ?? null);
              if (d.actions.length) {
                const detail = d.actions[0] === 'delete' && want === null ? 'it still exists' : d.actions[0] === 'create' ? 'it does not exist' : d.diff.map((f) => f.path.slice(1)).join(', ') + ' differ';
                unapply(c.address);
                report.failed.push({ address: c.address, message: `the device does not show the planned state after apply: ${detail}` });
              }
            }
            opts.progress?.({ phase: 'verify', done: ++done, total: verifyTargets.length, target: addr, ok: true });
          } catch (e) {
            for (const c of applied) {
              unapply(c.address);
              report.failed.push({ address: c.address, message: `could not verify after apply: ${opts.secrets.scrub((e as Error).message)}` });
            }
          }
        }),
      ),
    );
    return report;
  } finally {
    await Promise.all([...sessions.values()].map((s) => s.close().catch(() => undefined)));
  }
}

/** What the journal records of a target's changes, from the report so far. */
function journalResults(report: ApplyReport, changes: Change[]): JournalResult[] {
  const failed = new Map(report.failed.map((f) => [f.address, f]));
  const skipped = new Map(report.skipped.map((s) => [s.address, s]));
  const applied = new Set(report.applied);
  return changes.map((c): JournalResult => {
    const f = failed.get(c.address);
    if (f) return { address: c.address, actions: c.actions, status: 'failed', message: f.message, ...(f.rolledBack !== undefined ? { rolledBack: f.rolledBack } : {}) };
    const s = skipped.get(c.address);
    if (s) return { address: c.address, actions: c.actions, status: 'skipped', message: s.reason };
    return { address: c.address, actions: c.actions, status: applied.has(c.address) ? 'applied' : 'skipped' };
  });
}

/**
 * Walk units: one per change for change writers, one per target for
 * transaction writers and for targets that could not be connected (their
 * changes fail together).
 */
function buildUnits(plan: PlanWithTargets, targets: Map<string, PlannedTarget>, changesByTarget: Map<string, Change[]>, sessions: Map<string, TargetWriter>): Map<string, Unit> {
  const units = new Map<string, Unit>();
  const unitIdOf = new Map<string, string>();
  const order = changeOrder(plan.changes);
  for (const [addr, changes] of changesByTarget) {
    const t = targets.get(addr)!;
    const sorted = [...changes].sort((a, b) => order.get(a.address)! - order.get(b.address)!);
    if (sessions.get(addr)?.mode !== 'change') {
      const id = `tx:${addr}`;
      units.set(id, { id, target: t, changes: sorted, deps: new Set() });
      for (const c of sorted) unitIdOf.set(c.address, id);
    } else {
      for (const c of sorted) {
        units.set(c.address, { id: c.address, target: t, changes: [c], deps: new Set() });
        unitIdOf.set(c.address, c.address);
      }
    }
  }
  for (const u of units.values()) {
    for (const c of u.changes) {
      for (const d of c.dependsOn) {
        const du = unitIdOf.get(d);
        if (du && du !== u.id) u.deps.add(du);
      }
    }
  }
  // A cycle between transactional units (A's change needs B's and vice versa) cannot be walked: break it deterministically.
  for (let round = 0; round <= units.size; round++) {
    const g = new Graph();
    for (const u of units.values()) for (const d of u.deps) g.addEdge(u.id, d);
    const cycles = g.cycles();
    if (!cycles.length) break;
    for (const cyc of cycles) units.get(cyc[0])?.deps.delete(cyc[1]);
  }
  return units;
}

function changeOrder(changes: Change[]): Map<string, number> {
  const g = new Graph();
  const known = new Set(changes.map((c) => c.address));
  for (const c of changes) {
    g.addNode(c.address);
    for (const d of c.dependsOn) if (known.has(d)) g.addEdge(c.address, d);
  }
  let order: string[];
  try {
    order = g.order();
  } catch {
    order = changes.map((c) => c.address);
  }
  return new Map(order.map((a, i) => [a, i]));
}
