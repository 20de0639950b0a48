/**
 * The governance kinds: `Policy` (a CEL rule over resources) and `Reviewer`
 * (who may approve plans, with their Ed25519 public key). Both are meta kinds
 * without live state; the lead adds `governanceKinds` to the registry.
 */
import type { Diagnostic, KindDef, Resource } from '../types.js';
import { celCompileError } from '../../policies/cel.js';
import { posAt as posOf } from '../../policies/util.js';
import { publicKeyError } from './approvals.js';

function validatePolicy(res: Resource): Diagnostic[] {
  const rule = res.spec?.rule;
  if (typeof rule !== 'string') return []; // the schema reports a missing or non-string rule
  const err = celCompileError(rule);
  if (!err) return [];
  return [{ severity: 'error', code: 'E_POLICY_CEL', message: `policy rule does not compile: ${err}`, pos: posOf(res, '/spec/rule') }];
}

function validateReviewer(res: Resource, ctx: { byAddress: Map<string, Resource> }): Diagnostic[] {
  const out: Diagnostic[] = [];
  const key = res.spec?.publicKey;
  const err = publicKeyError(key);
  if (err) {
    out.push({ severity: 'error', code: 'E_REVIEWER_KEY', message: err, pos: posOf(res, '/spec/publicKey') });
    return out;
  }
  for (const other of ctx?.byAddress?.values() ?? []) {
    if (other.kind === 'Reviewer' && other.address !== res.address && other.name !== res.name &&
        typeof other.spec?.publicKey === 'string' && other.spec.publicKey.trim() === String(key).trim()) {
      out.push({
        severity: 'error',
        code: 'E_REVIEWER_KEY',
        message: `the same public key is declared by Reviewer ${other.address}; each person needs their own key`,
        pos: posOf(res, '/spec/publicKey'),
      });
    }
  }
  return out;
}

export const governanceKinds: KindDef[] = [
  { kind: 'Policy', area: 'governance', schema: 'governance/Policy.schema.json', isMeta: true, validate: validatePolicy },
  { kind: 'Reviewer', area: 'governance', schema: 'governance/Reviewer.schema.json', isMeta: true, validate: validateReviewer },
];
