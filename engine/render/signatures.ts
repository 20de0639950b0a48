/**
 * Who signed a plan, as recorded in the plan file, and how many are still
 * missing by its own count. The signatures are checked against the trusted
 * reviewers only by `show --require-approvals`, `approve` and `apply`; this
 * line says so.
 */
import type { Plan } from '../types.js';

export function signatureLine(plan: Plan): string | null {
  const approvals = Array.isArray(plan.approvals) ? plan.approvals : [];
  const need = plan.approvalsRequired?.count ?? 0;
  if (!approvals.length && !need) return null;
  if (!plan.changes?.length) return null;
  const names = approvals.map((a) => `${a.reviewer}${a.signedAt ? ` (${a.signedAt.slice(0, 16).replace('T', ' ')})` : ''}`);
  const missing = Math.max(0, need - approvals.length);
  return `Signed by: ${names.length ? names.join(', ') : 'nobody yet'}; ${missing ? `${missing} more needed` : 'enough signatures recorded'} (show --require-approvals checks them against the trusted reviewers).`;
}
