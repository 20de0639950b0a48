/**
 * What a plan takes from the repository besides the live state: its author,
 * the rules of the trusted revision (approvals, management networks,
 * mandatory policies; engine/trust.ts), what the change does to those rules,
 * and the policy results (validate stage before any device is read, plan
 * stage over the planned changes).
 */
import type { Change, Diagnostic, ObservedObject, PolicyResult, Resource } from './types.js';
import type { Workspace } from './workspace.js';
import { planAuthor } from './governance/approvals.js';
import { checkManagementNetworks } from './management-networks.js';
import { expandAll } from './targets.js';
import {
  governanceChanges,
  loadTrustedRules,
  resolveTrust,
  trustedApprovalRules,
  trustedObjectKeys,
  trustedPolicyOverlay,
  type GovernanceChange,
  type Trust,
  type TrustedRules,
} from './trust.js';

/** Who made the plan: --author, the CI's user variables, or git's user.email. */
export function resolveAuthor(explicit?: string): string | null {
  return planAuthor({ author: explicit ?? null });
}

/** The trusted rules of a plan and what it is allowed to show. */
export interface PlanTrust {
  trust: Trust;
  /** One line for the user: which revision the rules come from (or that none protects them). */
  note: string;
  rules: TrustedRules;
  governance: GovernanceChange[];
  /** Policy resources of the trusted revision that the change removed or altered: they stay in force. */
  policyOverlay: Resource[];
  /** Whether the trusted revision manages an object (its live content may be shown). */
  trustedObject(target: string, kind: string, id: string): boolean;
  /** Targets outside the trusted revision's management networks: errors before anything is read. */
  diagnostics: Diagnostic[];
}

/**
 * Resolves and loads the trusted revision for a plan of `ws` (--trusted-ref,
 * else the default branch, else the working tree outside git). Reads no
 * secret and opens no connection.
 */
export async function planTrust(ws: Workspace, trustedRef?: string): Promise<PlanTrust> {
  const { trust, note } = resolveTrust(ws.folders[0]?.dir ?? process.cwd(), trustedRef);
  const rules = await loadTrustedRules(ws.catalog, trust, ws);
  // managementNetworks as the trusted revision has them. A new environment (only in the change) may not widen them:
  // its targets must lie in the networks of its zone's trusted environments, else loopback only. (Validate already
  // checked the working tree's lists; outside git those are all there is.)
  const zoneNetworks = [...rules.environments.values()].flatMap((e) => (Array.isArray(e.spec?.managementNetworks) ? e.spec.managementNetworks : []));
  const diagnostics =
    trust.source === 'working-tree'
      ? []
      : checkManagementNetworks(ws.catalog, ws.resources, (env) => {
          const trusted = rules.environments.get(env);
          const list = trusted ? trusted.spec?.managementNetworks : zoneNetworks.length ? zoneNetworks : undefined;
          return { list: Array.isArray(list) ? list : undefined };
        }).map((d) => ({ ...d, message: `${d.message} (management networks of the trusted revision)` }));
  const trustedKeys = trustedObjectKeys(rules, (resources) => expandAll(ws.catalog, resources, new Map(resources.map((r) => [r.address, r]))));
  return {
    trust,
    note,
    rules,
    governance: governanceChanges(rules, ws.resources),
    policyOverlay: trustedPolicyOverlay(rules, ws.resources),
    trustedObject: (target, kind, id) => trust.source === 'working-tree' || trustedKeys.has(`${target}\u0000${kind}\u0000${id}`),
    diagnostics,
  };
}

/** Approval rules of a run under the trusted revision: the strictest of its environments. */
export function planApprovalRules(ws: Workspace, trust?: PlanTrust): { count: number; groups: string[] } {
  if (trust) return trustedApprovalRules(trust.rules, ws.resources);
  let count = 0;
  const groups = new Set<string>();
  for (const e of ws.envs) {
    const a = e.environment.spec.approvals ?? {};
    count = Math.max(count, a.required ?? 0);
    for (const g of a.groups ?? []) groups.add(g);
  }
  return { count, groups: [...groups].sort() };
}

/** Validate-time policies over the whole repository (zone separation needs every environment), the trusted revision's mandatory ones included. */
export async function validatePolicies(ws: Workspace, trust?: PlanTrust): Promise<{ results: PolicyResult[]; diagnostics: Diagnostic[] }> {
  const results = await ws.catalog.policies.validate({ resources: ws.repository, zoneResources: [...ws.resources, ...(trust?.policyOverlay ?? [])] });
  return { results, diagnostics: ws.catalog.policies.diagnostics(results) };
}

/** Plan-time policies over the planned changes, joined with the validate-time results already computed. */
export function planPolicies(ws: Workspace, changes: Change[], validated: PolicyResult[], observed: ObservedObject[] = [], trust?: PlanTrust): Promise<PolicyResult[]> {
  return ws.catalog.policies.plan({ resources: ws.repository, zoneResources: [...ws.resources, ...(trust?.policyOverlay ?? [])], changes, observed, validated });
}
