/**
 * The governance kind the engine interprets itself: `Reviewer` (who may
 * approve plans, with their Ed25519 public key), a meta kind without live
 * state. `Policy` (a CEL rule) is defined by policies/, which owns CEL.
 */
import type { Diagnostic, KindDef, Resource } from '../types.js';
import { posOf } from '../positions.js';
import { publicKeyError } from './approvals.js';

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
  { kind: 'Reviewer', area: 'governance', schema: 'governance/Reviewer.schema.json', isMeta: true, validate: validateReviewer },
];
