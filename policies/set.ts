/**
 * The built-in policy engine as a PolicySet for the engine's catalog. Loads
 * the CEL library only when a rule will actually be evaluated.
 */
import type { ObservedObject, PolicyInput, PolicySet } from '../engine/contract.js';
import type { Change, PolicyResult } from '../engine/types.js';
import { loadCel } from './cel.js';
import { celNeeded, evaluatePlanPolicies, evaluateValidatePolicies, policyDiagnostics } from './index.js';

export const builtinPolicies: PolicySet = {
  async validate(input: PolicyInput): Promise<PolicyResult[]> {
    if (celNeeded(input)) await loadCel();
    return evaluateValidatePolicies(input);
  },
  async plan(input: PolicyInput & { changes: Change[]; observed?: ObservedObject[]; validated?: PolicyResult[] }): Promise<PolicyResult[]> {
    if (celNeeded(input)) await loadCel();
    return evaluatePlanPolicies(input);
  },
  diagnostics: policyDiagnostics,
};
