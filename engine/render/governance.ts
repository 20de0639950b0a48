/**
 * The governance lines every plan format shows first: where the rules came
 * from (the trusted revision, or the working tree outside git) and each
 * change the plan makes to them (approvals, change windows, management
 * networks, reviewers, policies), which reviewers must see before anything else.
 */
import type { Plan } from '../types.js';

export function trustLine(plan: Plan): string | null {
  const t = plan.trust;
  if (!t) return null;
  return t.source === 'git' ? `Rules (approvals, reviewers, policies) from the trusted revision ${t.ref} (${String(t.commit).slice(0, 12)})` : 'Rules from the working tree: no trusted revision protects them';
}

/** One line per governance change: `update Environment schule-a (approvals)`. */
export function governanceLines(plan: Plan): string[] {
  return (plan.governance ?? []).map((g) => `${g.action} ${g.kind} ${g.address}${g.kind === 'Environment' && g.fields.length ? ` (${g.fields.join(', ')})` : ''}${g.pos ? ` at ${g.pos.file}:${g.pos.line}` : ''}`);
}
