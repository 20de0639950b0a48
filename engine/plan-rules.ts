/**
 * What a plan takes from the repository besides the live state: its author,
 * the approvals its environments demand, and the policy results (validate
 * stage before any device is read, plan stage over the planned changes).
 */
import type { Change, Diagnostic, ObservedObject, PolicyResult } from './types.js';
import type { Workspace } from './workspace.js';
import { planAuthor } from './governance/approvals.js';

/** Who made the plan: --author, the CI's user variables, or git's user.email. */
export function resolveAuthor(explicit?: string): string | null {
  return planAuthor({ author: explicit ?? null });
}

/** Approval rules of a run: the strictest of its environments (0 when an environment declares none). */
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

/** Validate-time policies over the whole repository (zone separation needs every environment). */
export async function validatePolicies(ws: Workspace): Promise<{ results: PolicyResult[]; diagnostics: Diagnostic[] }> {
  const results = await ws.catalog.policies.validate({ resources: ws.repository, zoneResources: ws.resources });
  return { results, diagnostics: ws.catalog.policies.diagnostics(results) };
}

/** Plan-time policies over the planned changes, joined with the validate-time results already computed. */
export function planPolicies(ws: Workspace, changes: Change[], validated: PolicyResult[], observed: ObservedObject[] = []): Promise<PolicyResult[]> {
  return ws.catalog.policies.plan({ resources: ws.repository, zoneResources: ws.resources, changes, observed, validated });
}
