/**
 * The `Policy` kind: a CEL rule over resources (or planned changes) that an
 * environment declares. A meta kind without live state; its rule is
 * compiled at validate time so that a typo is an error at file:line:col, not
 * a surprise at plan time.
 */
import type { Diagnostic, KindDef, Resource } from '../engine/types.js';
import { posOf } from '../engine/positions.js';
import { celCompileError, loadCel } from './cel.js';

function validatePolicy(res: Resource): Diagnostic[] {
  const rule = res.spec?.rule;
  if (typeof rule !== 'string') return []; // the schema reports a missing or non-string rule
  const err = celCompileError(rule);
  if (!err) return [];
  return [{ severity: 'error', code: 'E_POLICY_CEL', message: `policy rule does not compile: ${err}`, pos: posOf(res, '/spec/rule') }];
}

export const policyKind: KindDef = {
  kind: 'Policy',
  area: 'governance',
  schema: 'governance/Policy.schema.json',
  isMeta: true,
  prepare: loadCel,
  validate: validatePolicy,
};
