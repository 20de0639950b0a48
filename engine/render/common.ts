/** Shared pieces of the plan renderers. */
import { createRequire } from 'node:module';
import type { Change, FieldDiff, Plan, PolicyResult } from '../types.js';

export function actionSymbol(c: Change): string {
  if (c.actions.length === 2) return '-/+';
  return c.actions[0] === 'create' ? '+' : c.actions[0] === 'delete' ? '-' : '~';
}

export function actionWord(c: Change): string {
  if (c.actions.length === 2) return 'replace';
  return c.actions[0];
}

export function fieldName(d: FieldDiff): string {
  return d.path.slice(1).replace(/~1/g, '/').replace(/~0/g, '~');
}

/** Multi-line text fields (file content) are shown as a unified diff, not as JSON strings. */
export function isTextBlock(d: FieldDiff): boolean {
  if (d.sensitive) return false;
  const isText = (v: unknown) => v === undefined || v === null || typeof v === 'string';
  return isText(d.before) && isText(d.after) && [d.before, d.after].some((v) => typeof v === 'string' && (v.includes('\n') || v.length > 100));
}

// `diff` loads on the first text diff shown (its CommonJS build, so rendering stays synchronous): most plans show none.
let diffLib: typeof import('diff') | undefined;
const diff = (): typeof import('diff') => (diffLib ??= createRequire(import.meta.url)('diff') as typeof import('diff'));

export function unifiedDiff(d: FieldDiff, label: string): string {
  const a = typeof d.before === 'string' ? d.before : '';
  const b = typeof d.after === 'string' ? d.after : '';
  const patch = diff().createTwoFilesPatch(`${label} (live)`, `${label} (planned)`, a, b, '', '', { context: 3 });
  const lines = patch.split('\n');
  const start = lines.findIndex((l) => l.startsWith('--- '));
  return lines
    .slice(start < 0 ? 0 : start)
    .map((l) => (l.startsWith('--- ') || l.startsWith('+++ ') ? l.replace(/\t$/, '') : l))
    .join('\n')
    .replace(/\n$/, '');
}

export function summaryLine(p: Plan): string {
  const s = p.summary;
  return `${s.create} to create, ${s.update} to update, ${s.replace} to replace, ${s.delete} to delete; ${s.noop} unchanged${s.unmanaged ? `; ${s.unmanaged} unmanaged` : ''}`;
}

/** The object id shown beside an address when the address alone does not say it. */
export function targetName(c: Change): string {
  return c.target.split('/').pop() ?? c.target;
}

/** A policy that flags what reviewers must look at twice: it failed and demands extra approvals. */
export function isRiskPolicy(p: PolicyResult): boolean {
  return !p.passed && typeof p.extraApprovals === 'number' && p.extraApprovals > 0;
}

/** Extra approvals the risk policies demand. */
export function riskApprovals(plan: Plan): number {
  return plan.policy.filter(isRiskPolicy).reduce((n, p) => n + (p.extraApprovals ?? 0), 0);
}
