/**
 * Stages 6-8: read live state through read-only sessions, diff, and build the
 * plan. Reads run with bounded concurrency, one connection per target, one
 * batched read per target. A target that cannot be read makes the plan
 * incomplete (and not applyable) but does not stop the other targets.
 */
import { performance } from 'node:perf_hooks';
import PQueue from 'p-queue';
import type { Catalog, Change, DesiredObject, ObservedObject, Diagnostic, FieldDiff, KindDef, LiveObject, Plan, PolicyResult, ReadRequest, ReadResult, Resource } from './types.js';
import { objectKey, PLAN_FORMAT_VERSION } from './types.js';
import { diffObject } from './diff.js';
import { liveFingerprint, sha256 } from './hash.js';
import { extraApprovals as extraApprovalsOf } from './governance/gate.js';
import { expandAll, isTargetResource, plannedTarget, targetSpec, type PlannedTarget, type PlanWithTargets } from './targets.js';
import { newSecretSalt, redactRefs, secretNames, type Secrets } from './secrets.js';
import type { Workspace } from './workspace.js';
import { computePlanHash } from './plan-file.js';
import { engineVersion } from './paths.js';
import { gitSource } from './git.js';
import { timings } from './timings.js';

export interface ReadProgress {
  (event: { done: number; total: number; target: string; ok: boolean; message?: string }): void;
}

export interface PlanOptions {
  secrets: Secrets;
  concurrency?: number;
  timeoutMs?: number;
  progress?: ReadProgress;
  author?: string | null;
  /** Policy evaluation over the planned changes (governance); returns results to embed. */
  policies?: (changes: Change[], observed: ObservedObject[]) => Promise<PolicyResult[]>;
  /** Base approval rule (the trusted revision's); the extras of the policy results are added to it. */
  approvalsRequired?: { count: number; groups: string[] };
  /** Where the rules came from and what the change does to them (engine/trust.ts). */
  trust?: { trust: Plan['trust']; governance: NonNullable<Plan['governance']> };
  /**
   * Whether the trusted revision manages an object: only then is the live
   * value of its kind's `liveContentFields` shown. Default: every object.
   */
  trustedObject?: (target: string, kind: string, id: string) => boolean;
}

export type { PlanWithTargets } from './targets.js';

export const SENSITIVE = '<sensitive>';

/**
 * Read every target through read-only sessions. `objectsByTarget` holds each
 * target's requests with their desired state in plan form (`<secret:NAME>`);
 * a driver that declares `readsResolvedSecrets` gets the values instead.
 */
export async function readTargets(
  catalog: Catalog,
  targets: PlannedTarget[],
  objectsByTarget: Map<string, ReadRequest[]>,
  opts: { secrets: Secrets; concurrency?: number; timeoutMs?: number; progress?: ReadProgress },
): Promise<Map<string, ReadResult | Error>> {
  const out = new Map<string, ReadResult | Error>();
  const queue = new PQueue({ concurrency: opts.concurrency ?? 32 });
  let done = 0;
  await Promise.all(
    targets.map((t) =>
      queue.add(async () => {
        let reader;
        try {
          const driver = await catalog.driver(t.driver);
          const requests = objectsByTarget.get(t.address) ?? [];
          const t0 = performance.now();
          reader = await driver.connectReader(targetSpec(t, opts.secrets), { timeoutMs: opts.timeoutMs });
          const t1 = performance.now();
          timings.add('connect', t1 - t0);
          const res = await reader.read(driver.readsResolvedSecrets ? requests.map((r) => ({ ...r, state: opts.secrets.resolve(r.state, 'plan') })) : requests);
          timings.add('read', performance.now() - t1);
          out.set(t.address, res);
          opts.progress?.({ done: ++done, total: targets.length, target: t.address, ok: true });
        } catch (e) {
          const err = new Error(opts.secrets.scrub((e as Error).message ?? String(e)));
          out.set(t.address, err);
          opts.progress?.({ done: ++done, total: targets.length, target: t.address, ok: false, message: err.message });
        } finally {
          await reader?.close().catch(() => undefined);
        }
      }),
    ),
  );
  return out;
}

/** Fields of a desired state that hold a secret: their values are never shown. */
function sensitiveFields(state: Record<string, unknown>): Set<string> {
  const out = new Set<string>();
  for (const [k, v] of Object.entries(state)) if (secretNames(v).size) out.add(k);
  return out;
}

function redactState(state: Record<string, unknown> | null, sensitive: Set<string>): Record<string, unknown> | null {
  if (!state) return null;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(state)) out[k] = sensitive.has(k) ? SENSITIVE : v;
  return out;
}

export interface DesiredWithState {
  object: DesiredObject;
  /** Desired state with secrets resolved (compared with live; never stored). */
  resolved: Record<string, unknown>;
}

/** Compute one change from a desired object and what was read; null when in sync. */
export function changeFor(def: KindDef | undefined, o: DesiredObject, resolved: Record<string, unknown>, live: LiveObject | null, secrets: Secrets, salt = newSecretSalt()): Change | null {
  const want = o.ensure === 'present' ? resolved : null;
  const d = diffObject(def, want, live?.state ?? null);
  if (!d.actions.length) return null;
  const sensitive = sensitiveFields(o.state);
  const diff: FieldDiff[] = d.diff.map((f) => {
    const field = f.path.slice(1).split('/')[0].replace(/~1/g, '/').replace(/~0/g, '~');
    if (!sensitive.has(field)) return f;
    return { path: f.path, before: f.before === undefined ? undefined : SENSITIVE, after: redactRefs(o.state[field]), sensitive: true };
  });
  const names = [...secretNames(o.state)].sort();
  return {
    address: o.address,
    resource: o.resource,
    kind: o.kind,
    target: o.target,
    id: o.id,
    actions: d.actions,
    before: redactState(live?.state ?? null, sensitive),
    after: o.ensure === 'present' ? redactRefs(o.state) : null,
    diff,
    liveFingerprint: liveFingerprint(live?.state ?? null),
    dependsOn: [],
    ...(names.length ? { secrets: names.map((n) => ({ name: n, fingerprint: secrets.fingerprint(n, salt) })) } : {}),
    pos: o.pos,
  };
}

/** The delete of a live object no manifest declares, on a target with `prune: true`. */
export function prunedChange(u: LiveObject, target: Resource): Change {
  const address = `${target.env}/${u.kind}/unmanaged:${u.id}[${target.name}]`;
  return {
    address,
    // A pruned object is a resource of its own: each one counts for the destructive-change cap.
    resource: address,
    kind: u.kind,
    target: target.address,
    id: u.id,
    actions: ['delete'],
    before: u.state,
    after: null,
    diff: [],
    liveFingerprint: liveFingerprint(u.state),
    dependsOn: [],
    pos: target.pos,
  };
}

/**
 * Change-level dependencies from resource-level ones. Deletes run in reverse
 * order (dependents first).
 *
 * A resource that lives on several targets (a Vlan on every switch) is a
 * dependency per target: a port on sw-1 waits for the VLAN's change on sw-1,
 * not for the same VLAN on 199 other switches (which would chain every
 * switch's transaction to every other one). Only where the dependency has no
 * object on the change's own target does the change wait for all of its
 * changes (a genuinely cross-target dependency).
 */
export function linkChanges(
  changes: Change[],
  resourceDeps: (resource: string) => Iterable<string>,
  resourceTargets: (resource: string) => ReadonlySet<string> | undefined = () => undefined,
): void {
  const byResource = new Map<string, Change[]>();
  const byResourceTarget = new Map<string, Change[]>();
  for (const c of changes) {
    (byResource.get(c.resource) ?? byResource.set(c.resource, []).get(c.resource)!).push(c);
    const k = `${c.resource}\u0000${c.target}`;
    (byResourceTarget.get(k) ?? byResourceTarget.set(k, []).get(k)!).push(c);
  }
  const deps = new Map<Change, Set<string>>(changes.map((c) => [c, new Set(c.dependsOn)]));
  const isDelete = (c: Change) => c.actions.length === 1 && c.actions[0] === 'delete';
  const add = (from: Change, to: Change) => {
    if (from !== to) deps.get(from)!.add(to.address);
  };
  for (const c of changes) {
    for (const depRes of new Set(resourceDeps(c.resource))) {
      const local = resourceTargets(depRes)?.has(c.target);
      const candidates = local ? byResourceTarget.get(`${depRes}\u0000${c.target}`) ?? [] : byResource.get(depRes) ?? [];
      for (const d of candidates) {
        // A delete of the dependency runs after its users moved away (or were deleted themselves).
        if (isDelete(d)) add(d, c);
        else add(c, d);
      }
    }
  }
  for (const c of changes) c.dependsOn = [...deps.get(c)!].sort();
}

export async function computePlan(ws: Workspace, opts: PlanOptions): Promise<PlanWithTargets> {
  const { catalog } = ws;
  const secretSalt = newSecretSalt();
  const source = gitSource(ws.folders.map((f) => f.dir)); // asked while the devices are read
  const warnings: Diagnostic[] = ws.diagnostics.filter((d) => d.severity === 'warning');
  const targetResources = ws.resources.filter((r) => isTargetResource(catalog, r));
  const targets = targetResources.map(plannedTarget);
  const targetByAddress = new Map(targetResources.map((r) => [r.address, r]));
  const desired = expandAll(catalog, ws.resources, ws.resolution.byAddress);

  // Resolve secrets in desired state once; a missing secret is an error of that target.
  const errored: { target: string; message: string }[] = [];
  const byTarget = new Map<string, DesiredWithState[]>();
  const badTargets = new Set<string>();
  for (const o of desired) {
    let resolved: Record<string, unknown>;
    try {
      resolved = opts.secrets.resolve(o.state);
    } catch (e) {
      if (!badTargets.has(o.target)) errored.push({ target: o.target, message: (e as Error).message });
      badTargets.add(o.target);
      continue;
    }
    (byTarget.get(o.target) ?? byTarget.set(o.target, []).get(o.target)!).push({ object: o, resolved });
  }
  const readable = targets.filter((t) => !badTargets.has(t.address));
  const requests = new Map<string, ReadRequest[]>();
  for (const [t, list] of byTarget) requests.set(t, list.map((d) => ({ kind: d.object.kind, id: d.object.id, state: redactRefs(d.object.state) })));
  timings.mark('connect+read');
  const results = await readTargets(catalog, readable, requests, opts);
  timings.mark('diff');

  const changes: Change[] = [];
  const observed: ObservedObject[] = [];
  const unmanaged: Plan['unmanaged'] = [];
  let noop = 0;
  for (const t of readable) {
    const res = results.get(t.address);
    if (!res || res instanceof Error) {
      errored.push({ target: t.address, message: res?.message ?? 'not read' });
      continue;
    }
    for (const d of byTarget.get(t.address) ?? []) {
      const live = res.objects[objectKey(d.object.kind, d.object.id)];
      if (live === undefined) {
        errored.push({ target: t.address, message: `driver returned no state for ${d.object.kind} ${d.object.id}` });
        continue;
      }
      observed.push({ address: d.object.address, resource: d.object.resource, kind: d.object.kind, target: t.address, id: d.object.id, state: live ? opts.secrets.scrubDeep(live.state) : null });
      const c = changeFor(catalog.kind(d.object.kind), d.object, d.resolved, live, opts.secrets, secretSalt);
      if (c) changes.push(c);
      else noop++;
    }
    const targetRes = targetByAddress.get(t.address)!;
    for (const u of res.unmanaged ?? []) {
      const def = catalog.kind(u.kind);
      if (targetRes.spec?.prune === true && !def?.protectedLive?.(u, targetRes)) {
        changes.push(prunedChange(u, targetRes));
      } else unmanaged.push({ target: t.address, kind: u.kind, id: u.id, ...(def?.protectedLive?.(u, targetRes) ? { protected: true } : {}) });
    }
  }
  // Dependencies: references between resources (the graph) plus what expansion found (a file's owner, a user's groups).
  const extraDeps = new Map<string, Set<string>>();
  for (const o of desired) for (const d of o.dependsOn) (extraDeps.get(o.resource) ?? extraDeps.set(o.resource, new Set()).get(o.resource)!).add(d);
  const targetsOf = new Map<string, Set<string>>();
  for (const o of desired) (targetsOf.get(o.resource) ?? targetsOf.set(o.resource, new Set()).get(o.resource)!).add(o.target);
  linkChanges(changes, (r) => [...(ws.resolution.graph.deps.get(r) ?? []), ...(extraDeps.get(r) ?? [])], (r) => targetsOf.get(r));
  // Pruned deletes on a target run after the target's other changes (ports move off a VLAN before it goes).
  const declaredByTarget = new Map<string, string[]>();
  for (const c of changes) if (!c.address.includes('/unmanaged:')) (declaredByTarget.get(c.target) ?? declaredByTarget.set(c.target, []).get(c.target)!).push(c.address);
  for (const c of changes) {
    if (c.address.includes('/unmanaged:')) c.dependsOn = [...(declaredByTarget.get(c.target) ?? [])].sort();
  }
  // A change under review may name any path: live content of what the trusted revision does not manage stays hidden.
  if (opts.trustedObject) for (const c of changes) hideUntrustedContent(c, catalog.kind(c.kind)?.liveContentFields, opts.trustedObject);
  // Redaction by value: no secret of the zone appears in what was read (a file that embedded a secret the manifest no
  // longer references). Only the live side: `after` is what apply writes and holds placeholders, never values.
  for (const c of changes) {
    c.before = opts.secrets.scrubDeep(c.before);
    c.diff = c.diff.map((f) => ({ ...f, before: opts.secrets.scrubDeep(f.before) }));
  }
  for (const e of errored) e.message = opts.secrets.scrub(e.message);
  // What a driver learnt about how it would apply (no rollback on this firmware, ...), for targets that have changes.
  for (const t of readable) {
    const res = results.get(t.address);
    if (!res || res instanceof Error || !changes.some((c) => c.target === t.address)) continue;
    for (const w of res.warnings ?? []) warnings.push({ severity: 'warning', code: 'W_TARGET', message: opts.secrets.scrub(`${t.address}: ${w}`), pos: targetByAddress.get(t.address)!.pos });
  }
  changes.sort((a, b) => a.address.localeCompare(b.address));

  const count = (pred: (c: Change) => boolean) => changes.filter(pred).length;
  timings.mark('plan-policies');
  const policy = opts.policies ? await opts.policies(changes, observed) : [];
  const mandatoryFailed = policy.some((p) => p.enforcement === 'mandatory' && !p.passed);
  const envNames = ws.envs.map((e) => e.name).sort();
  const base: Omit<PlanWithTargets, 'hash'> = {
    formatVersion: PLAN_FORMAT_VERSION,
    engineVersion,
    createdAt: new Date().toISOString(),
    source: { ...(await source), manifestsHash: ws.manifestsHash, paths: ws.folders.map((f) => relativePath(f.dir)) },
    zone: ws.zone,
    environments: envNames,
    author: opts.author ?? null,
    summary: {
      create: count((c) => c.actions.length === 1 && c.actions[0] === 'create'),
      update: count((c) => c.actions[0] === 'update'),
      delete: count((c) => c.actions.length === 1 && c.actions[0] === 'delete'),
      replace: count((c) => c.actions.length === 2),
      noop,
      unmanaged: unmanaged.length,
    },
    applyable: errored.length === 0 && !mandatoryFailed,
    complete: errored.length === 0,
    errored,
    changes,
    unmanaged,
    warnings,
    policy,
    approvalsRequired: approvalsWithExtras(opts.approvalsRequired ?? { count: 0, groups: [] }, policy),
    ...(opts.trust ? { trust: opts.trust.trust, governance: opts.trust.governance } : {}),
    secretSalt,
    targets: targets.filter((t) => changes.some((c) => c.target === t.address)),
    approvals: [],
  };
  return { ...base, hash: computePlanHash(base) } as PlanWithTargets;
}

/** `count` = base + the policy results' extra approvals: the one number plan, show, approve and apply agree on. */
function approvalsWithExtras(rule: { count: number; groups: string[] }, policy: PolicyResult[]): Plan['approvalsRequired'] {
  const extra = extraApprovalsOf(policy);
  return { count: rule.count + extra, base: rule.count, extra, groups: rule.groups };
}

/** Live content fields of an object the trusted revision does not manage: size and hash instead of the value. */
function hideUntrustedContent(c: Change, fields: string[] | undefined, trusted: (target: string, kind: string, id: string) => boolean): void {
  if (!fields?.length || !c.before || trusted(c.target, c.kind, c.id)) return;
  const summary = (v: unknown): unknown => {
    if (typeof v !== 'string') return v;
    const bytes = Buffer.from(v, v === c.before?.contentBase64 ? 'base64' : 'utf8');
    return `<not shown: ${bytes.length} bytes, sha256:${sha256(bytes)}; the trusted revision does not manage this object>`;
  };
  const before = { ...c.before };
  for (const f of fields) if (f in before) before[f] = summary(before[f]);
  c.before = before;
  c.diff = c.diff.map((d) => (fields.includes(d.path.slice(1).split('/')[0]) ? { ...d, before: summary(d.before) } : d));
}

function relativePath(p: string): string {
  const rel = p.startsWith(process.cwd() + '/') ? p.slice(process.cwd().length + 1) : p;
  return rel;
}

