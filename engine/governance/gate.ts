/**
 * applyGate: the one place where apply's governance checks meet. apply calls
 * it after loading the plan and the repository's Reviewer and Environment
 * resources, before taking locks or touching any device. (Staleness — live
 * fingerprints — and the lock are apply's own steps.)
 *
 * Refuses, each with a reason:
 * - a plan whose hash does not match its content (edited after planning);
 * - a plan that is not applyable (mandatory policy violation, incomplete read);
 * - an environment of the plan missing from ctx.environments, or of another zone;
 * - approvals that are forged, too few, from the wrong group, or the author's own
 *   (per environment: Environment.spec.approvals.required, default 0, never
 *   less than the plan's approvalsRequired.count; groups from the Environment,
 *   else from the plan);
 *   extra approvals: the sum of policy results' extraApprovals (destructive
 *   change cap) plus one for --emergency;
 * - now outside every change window of an environment, unless emergency.
 */
import type { Plan, PolicyResult, Resource } from '../types.js';
import { computePlanHash, verifyApprovals } from './approvals.js';
import { checkChangeWindow } from './change-windows.js';

/**
 * Approvals an environment needs when it declares none. Zero, so that a
 * repository can adopt einklang before it has reviewers; every real
 * environment declares `spec.approvals` (the demo city asks for two), and the
 * plan shows how many approvals it needs.
 */
export const DEFAULT_REQUIRED_APPROVALS = 0;

export interface GateContext {
  /** Reviewer resources of the repository. */
  reviewers: Resource[];
  /** Environment resources of the plan's environments (from the manifests at apply time). */
  environments: Resource[];
  now: Date;
  emergency: boolean;
}

export interface GateResult {
  ok: boolean;
  reasons: string[];
  /** Reviewer names whose approvals counted (for the journal). */
  approvers: string[];
  /** Approvals needed in total (max over environments, extras included). */
  required: number;
}

/** Extra approvals the plan's policy results demand (destructive-change cap, ...): their sum. */
export function extraApprovals(results: PolicyResult[]): number {
  let n = 0;
  for (const r of results) if (typeof r?.extraApprovals === 'number' && r.extraApprovals > 0) n += r.extraApprovals;
  return n;
}

/**
 * What makes a plan unusable whoever approved it: its hash does not match its
 * content (edited after planning), or it is not applyable. The one place the
 * plan hash is checked.
 */
export function planIntegrityProblems(plan: Plan): string[] {
  const out: string[] = [];
  let hashOk = false;
  try {
    hashOk = computePlanHash(plan) === plan.hash;
  } catch {
    hashOk = false;
  }
  if (!hashOk) out.push('plan hash does not match its content (hash mismatch): the plan was modified after it was made; re-plan');
  if (plan.applyable !== true) out.push('plan is not applyable (a mandatory policy failed or the plan is incomplete)');
  return out;
}

/**
 * `changeWindows: false` checks everything but the change windows: the merge
 * gate in CI (`show --require-approvals`) runs whenever a reviewer signs,
 * while the window applies to the moment of apply.
 */
export function applyGate(plan: Plan, ctx: GateContext, opts: { changeWindows: boolean } = { changeWindows: true }): GateResult {
  const reasons: string[] = [];
  const approvers = new Set<string>();
  let required = 0;
  const refuse = (r: string) => {
    if (!reasons.includes(r)) reasons.push(r);
  };

  if (!plan || typeof plan !== 'object' || typeof plan.hash !== 'string') {
    return { ok: false, reasons: ['not a plan (no hash)'], approvers: [], required: 0 };
  }
  for (const r of planIntegrityProblems(plan)) refuse(r);

  const names = Array.isArray(plan.environments) ? plan.environments : [];
  if (names.length === 0) refuse('plan names no environments');
  const envs = ctx.environments ?? [];
  const policyExtras = extraApprovals(Array.isArray(plan.policy) ? plan.policy : []);

  for (const name of names) {
    const env = envs.find((e) => e.kind === 'Environment' && (e.env === name || e.name === name));
    if (!env) {
      refuse(`environment ${name} of the plan was not found in the manifests`);
      continue;
    }
    if (plan.zone && env.zone !== plan.zone) refuse(`environment ${name} is in zone ${env.zone}, the plan in zone ${plan.zone}`);

    const win = opts.changeWindows ? checkChangeWindow(ctx.now, env.spec?.changeWindows, !!ctx.emergency) : { allowed: true, reason: '', extraApprovals: 0 };
    if (!win.allowed) refuse(`${name}: ${win.reason}`);

    const a = env.spec?.approvals ?? {};
    const envCount = Number.isInteger(a.required) && a.required >= 0 ? a.required : DEFAULT_REQUIRED_APPROVALS;
    // The plan's base rule (its count includes the extras, which are added below from the policy results).
    const planBase = plan.approvalsRequired?.base ?? plan.approvalsRequired?.count;
    const planCount = Number.isInteger(planBase) ? (planBase as number) : 0;
    const groups: string[] = Array.isArray(a.groups) && a.groups.length ? a.groups : (plan.approvalsRequired?.groups ?? []);
    const extra = policyExtras + win.extraApprovals;
    const count = Math.max(envCount, planCount);
    required = Math.max(required, count + extra);
    const check = verifyApprovals(plan, ctx.reviewers ?? [], { count, groups }, plan.author ?? null, extra);
    if (!check.ok) for (const r of check.reasons) refuse(`${name}: ${r}`);
    for (const v of check.valid) approvers.add(v.reviewer);
  }
  return { ok: reasons.length === 0, reasons, approvers: [...approvers].sort(), required };
}
