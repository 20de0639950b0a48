/**
 * The one place where the checks around apply join: plan integrity, policy
 * results, governance (approvals, change windows, locks) and, after the
 * apply, the journal. `apply` calls checkBeforeApply before it opens any
 * connection; nothing reaches a device unless it says ok.
 */
import type { Change, Diagnostic, Plan, PolicyResult } from './types.js';
import type { Workspace } from './workspace.js';
import type { ApplyReport } from './apply.js';
import { computePlanHash } from './plan-file.js';
import { gitUserEmail } from './git.js';

export interface GateResult {
  ok: boolean;
  reasons: string[];
  /** Releases whatever the gate took (the environment lock). */
  release?: () => Promise<void>;
  /** Context the journal needs. */
  journal?: { dir: string; emergency: boolean; approvers: string[] };
}

/** Who made the plan: --author, the CI's user variables, or git's user.email. */
export function resolveAuthor(explicit?: string): string | null {
  if (explicit) return explicit;
  const env = process.env;
  return env.EINKLANG_AUTHOR || env.GITLAB_USER_EMAIL || env.GITLAB_USER_LOGIN || env.GITHUB_ACTOR || gitUserEmail() || env.USER || null;
}

/** Approval rules of a run: the strictest of its environments. */
export function planApprovalRules(ws: Workspace): { count: number; groups: string[] } {
  let count = 0;
  const groups = new Set<string>();
  for (const e of ws.envs) {
    const a = e.environment.spec.approvals ?? {};
    count = Math.max(count, a.required ?? 0);
    for (const g of a.groups ?? []) groups.add(g);
  }
  return { count, groups: [...groups].sort() };
}

/** Validate-time policies (repository-wide). */
export function validatePolicies(_ws: Workspace): Diagnostic[] {
  return [];
}

/** Plan-time policies over the planned changes. */
export function planPolicies(_ws: Workspace, _changes: Change[]): PolicyResult[] {
  return [];
}

export async function checkBeforeApply(plan: Plan, _ctx: { emergency: boolean; planFile: string; waitSeconds: number }): Promise<GateResult> {
  const reasons: string[] = [];
  if (computePlanHash(plan) !== plan.hash) reasons.push('the plan file was modified after it was made (hash mismatch); re-plan');
  if (!plan.complete) reasons.push('the plan is incomplete: some targets could not be read when it was made');
  else if (!plan.applyable) reasons.push('the plan is not applyable (a mandatory policy failed)');
  if (plan.zone !== 'school' && plan.zone !== 'administration') reasons.push('the plan names no zone');
  return { ok: reasons.length === 0, reasons };
}

export async function finishApply(_gate: GateResult, _plan: Plan, _report: ApplyReport): Promise<void> {}

export async function governanceCommand(command: string, _args: string[], _opts: Record<string, unknown>): Promise<number> {
  process.stderr.write(`einklang: ${command} is not available in this build\n`);
  return 1;
}
