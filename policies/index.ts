/**
 * Policies: the entry points the engine calls.
 *
 *   evaluateValidatePolicies({resources, zoneResources, engine?}): PolicyResult[]
 *     validate: built-in policies plus the run's validate-stage Policy resources.
 *     `resources`     every environment of the repository (for zone separation;
 *                     never resolved secrets),
 *     `zoneResources` the run's environments (what is checked and reported).
 *
 *   evaluatePlanPolicies({resources, zoneResources, changes, engine?}): PolicyResult[]
 *     plan: everything validate checks, plus the destructive-change cap and the
 *     plan-stage Policy resources (they see each planned `change`). Call only
 *     this one at plan time; it includes the validate results.
 *
 *   checkZoneReferences(resources, refs): Diagnostic[]
 *     E_CROSS_ZONE for a reference (from the resolver) from one zone into the other.
 *
 *   policyDiagnostics(results): Diagnostic[]
 *     violations as GNU-style diagnostics: E_POLICY (mandatory, error) and
 *     W_POLICY (advisory, warning); message starts with `[policy name]`.
 *
 *   mandatoryFailed(results): boolean   — plan exit 1 / not applyable
 *   extraApprovals(results): number     — sum of extraApprovals
 *
 * Built-in policies (on by default; result names):
 *   builtin/zone-separation         mandatory  school vs administration: shared management address, overlapping Vlan subnets
 *   builtin/environment-separation  advisory   the same between environments of one zone (school vs school)
 *   builtin/firewall-separation     mandatory  no firewall pass rule of one zone into the other's networks unless an earlier block covers it
 *   builtin/no-literal-secrets      mandatory  secret-named fields must be exactly ${secret:NAME}
 *   builtin/hostname-naming         mandatory  CEL; Windows / linuxmuster host names <= 15 lowercase chars
 *   builtin/destructive-change-cap  advisory   plan only; too many deletes -> extraApprovals: 1
 *   builtin/network-risk            advisory   plan only; management VLAN taken off a port, deleted, or a VLAN
 *                                              deleted while ports use it -> extraApprovals: 1
 *   builtin/license-seats           mandatory  plan only; seat demand above a pool's seats, expired pools in use (license-seats.ts)
 *   builtin/license-warnings        advisory   plan only; pools expiring within 60 days, seats below those checked out
 * Environment `Policy` resources get the name of their address (`school-a/Policy/no-telnet`).
 * CEL library: see policies/cel.ts (cel-js in production, bufbuild selectable).
 */
import type { Change, Diagnostic, ObservedObject, PolicyResult, Resource } from '../engine/types.js';
import { DEFAULT_CEL_ENGINE, type CelEngineName } from './cel.js';
import { destructiveCapPolicy } from './destructive.js';
import { networkRiskPolicy, NETWORK_RISK } from './network-risk.js';
import { LICENSE_SEATS, licensePolicies } from './license-seats.js';
import { builtinRuleDefs, CelContext, evaluateChangeRules, evaluateResourceRules, policyResourceDefs, rulesNeedCel, type RuleDef } from './rules.js';
import { literalSecretsPolicy } from './secrets.js';
import { separationPolicies } from './separation.js';
import { firewallSeparationPolicy } from './firewall-separation.js';
import { posAt, where } from './util.js';

export { celCompileError, DEFAULT_CEL_ENGINE, loadCel, type CelEngineName } from './cel.js';
export { SECRET_REF, isSecretFieldName } from './secrets.js';

export interface ValidatePolicyInput {
  /** Resources of every environment in the repository. */
  resources: Resource[];
  /** Resources of the run's environments. */
  zoneResources: Resource[];
  /** CEL library; default DEFAULT_CEL_ENGINE. */
  engine?: CelEngineName;
}

export interface PlanPolicyInput extends ValidatePolicyInput {
  changes: Change[];
  /** Live state of every object the plan read (policies over what exists, e.g. license seat demand from live group members). */
  observed?: ObservedObject[];
  /** Results of evaluateValidatePolicies for the same input, when the caller already has them (not evaluated twice). */
  validated?: PolicyResult[];
}

/** Run one policy so that a bug or hostile input becomes a failed result, never a crash. */
function guarded(name: string, enforcement: 'mandatory' | 'advisory', fn: () => PolicyResult[]): PolicyResult[] {
  try {
    return fn();
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    return [{ name, enforcement, passed: false, violations: [{ address: name, message: `policy could not be evaluated: ${msg}` }] }];
  }
}

function arr<T>(v: T[] | undefined | null): T[] {
  return Array.isArray(v) ? v.filter((x) => x && typeof x === 'object') : [];
}

interface Prepared {
  resources: Resource[];
  zoneResources: Resource[];
  engine: CelEngineName;
  ctx: CelContext;
  defs: RuleDef[];
}

function prepare(input: ValidatePolicyInput): Prepared {
  const zoneResources = arr(input.zoneResources);
  return {
    resources: arr(input.resources),
    zoneResources,
    engine: input.engine ?? DEFAULT_CEL_ENGINE,
    ctx: new CelContext(zoneResources),
    defs: [...builtinRuleDefs, ...policyResourceDefs(zoneResources)],
  };
}

function validateStage(p: Prepared): PolicyResult[] {
  return [
    ...guarded('builtin/zone-separation', 'mandatory', () => separationPolicies(p.resources, p.zoneResources)),
    ...guarded('builtin/firewall-separation', 'mandatory', () => [firewallSeparationPolicy(p.resources, p.zoneResources)]),
    ...guarded('builtin/no-literal-secrets', 'mandatory', () => [literalSecretsPolicy(p.zoneResources)]),
    ...guarded('policies', 'mandatory', () => evaluateResourceRules(p.defs, p.zoneResources, p.ctx, p.engine)),
  ];
}

/** True when evaluating the policies over `input` compiles CEL: the caller must `await loadCel()` first. */
export function celNeeded(input: ValidatePolicyInput): boolean {
  const p = prepare(input);
  return rulesNeedCel(p.defs, p.zoneResources, p.ctx);
}

export function evaluateValidatePolicies(input: ValidatePolicyInput): PolicyResult[] {
  return validateStage(prepare(input));
}

export function evaluatePlanPolicies(input: PlanPolicyInput): PolicyResult[] {
  const p = prepare(input);
  const changes = arr(input.changes);
  return [
    ...(input.validated ?? validateStage(p)),
    ...guarded('builtin/destructive-change-cap', 'advisory', () => [destructiveCapPolicy(p.zoneResources, changes, p.ctx.byAddress())]),
    ...guarded(NETWORK_RISK, 'advisory', () => [networkRiskPolicy(p.zoneResources, changes, p.ctx.byAddress())]),
    ...guarded(LICENSE_SEATS, 'mandatory', () => licensePolicies({ zoneResources: p.zoneResources, changes, observed: arr(input.observed) })),
    ...guarded('policies', 'mandatory', () => evaluateChangeRules(p.defs, p.zoneResources, changes, p.ctx, p.engine)),
  ];
}

export interface ZoneRef {
  from: Resource;
  /** JSON pointer of the referring value in `from` ("/spec/switch", "/spec/switches/0"). */
  pointer: string;
  to: Resource;
}

/**
 * A resource of one zone must not name a device or resource of the other
 * (either direction). `resources` may be used by later checks; refs carry
 * everything needed today.
 */
export function checkZoneReferences(_resources: Resource[], refs: ZoneRef[]): Diagnostic[] {
  const out: Diagnostic[] = [];
  for (const ref of refs ?? []) {
    if (!ref?.from || !ref.to || ref.from.zone === ref.to.zone) continue;
    out.push({
      severity: 'error',
      code: 'E_CROSS_ZONE',
      message:
        `${ref.from.address} (${ref.from.zone}) references ${ref.to.address} (${ref.to.zone}, ${where(ref.to.pos)}); ` +
        `resources of one zone must not reference the other zone`,
      pos: posAt(ref.from, ref.pointer),
    });
  }
  return out;
}

export function policyDiagnostics(results: PolicyResult[]): Diagnostic[] {
  const out: Diagnostic[] = [];
  for (const r of results) {
    for (const v of r.violations) {
      out.push({
        severity: r.enforcement === 'mandatory' ? 'error' : 'warning',
        code: v.code ?? (r.enforcement === 'mandatory' ? 'E_POLICY' : 'W_POLICY'),
        message: `[${r.name}] ${v.address}: ${v.message}`,
        pos: v.pos,
      });
    }
  }
  return out;
}

export function mandatoryFailed(results: PolicyResult[]): boolean {
  return results.some((r) => r.enforcement === 'mandatory' && !r.passed);
}

export { extraApprovals } from '../engine/governance/gate.js';
