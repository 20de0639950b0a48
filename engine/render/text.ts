/**
 * Terminal rendering of a plan: one line per change (+ create, ~ update,
 * - delete, -/+ replace), field differences below, file content as a unified
 * diff. Colour only on a terminal and without NO_COLOR; the only escape
 * sequences in the output are those colours (values are escaped first).
 */
import type { Plan } from '../types.js';
import { actionSymbol, fieldName, fmtValue, isRiskPolicy, isTextBlock, riskApprovals, riskFlags, summaryLine, targetName, unifiedDiff } from './common.js';
import { visibleDeep } from './escape.js';
import { governanceLines, trustLine } from './governance.js';

export interface TextOptions {
  color?: boolean;
  /** Wording for drift reports. */
  mode?: 'plan' | 'drift';
}

const codes = { green: 32, yellow: 33, red: 31, cyan: 36, bold: 1, dim: 2 } as const;

export function renderText(raw: Plan, opts: TextOptions = {}): string {
  // Everything shown comes from the plan; no control character in it reaches the terminal raw (escape.ts).
  const plan = visibleDeep(raw);
  const c = (name: keyof typeof codes, s: string) => (opts.color ? `\u001b[${codes[name]}m${s}\u001b[0m` : s);
  const colorOf = (sym: string) => (sym === '+' ? 'green' : sym === '-' ? 'red' : sym === '~' ? 'yellow' : 'cyan');
  const out: string[] = [];
  const drift = opts.mode === 'drift';
  out.push(c('bold', `${drift ? 'Drift' : 'Plan'} for ${plan.environments.join(', ') || '(no environments)'}${plan.zone ? ` (zone ${plan.zone})` : ''}`));
  const trust = trustLine(plan);
  if (trust) out.push(c('dim', trust));
  const governance = governanceLines(plan);
  if (governance.length) out.push(c('bold', `Governance changes (approved under the trusted rules):`), ...governance.map((l) => c('yellow', `  ! ${l}`)));
  for (const e of plan.errored) out.push(c('red', `  ! ${e.target}: ${e.message}`));
  for (const w of plan.warnings) out.push(c('yellow', `  warning ${w.code}: ${w.message}${w.pos ? ` (${w.pos.file}:${w.pos.line}:${w.pos.col})` : ''}`));
  for (const ch of plan.changes) {
    const sym = actionSymbol(ch);
    out.push(c(colorOf(sym), `  ${sym.padEnd(3)} ${ch.address}`) + c('dim', `  (${ch.kind} ${ch.id} on ${targetName(ch)})`));
    if (ch.actions[0] === 'delete' && ch.actions.length === 1) continue;
    for (const d of ch.diff) {
      const name = fieldName(d);
      if (isTextBlock(d)) {
        out.push(`        ${name}:`);
        for (const line of unifiedDiff(d, ch.id).split('\n')) {
          const col = line.startsWith('+') ? 'green' : line.startsWith('-') ? 'red' : line.startsWith('@@') ? 'cyan' : 'dim';
          out.push('          ' + c(col, line));
        }
      } else if (d.sensitive) {
        out.push(`        ${name}: (sensitive value ${ch.actions[0] === 'create' ? 'set' : 'changes'}: ${fmtValue(d.after)})`);
      } else if (ch.actions[0] === 'create') {
        out.push(`        ${name}: ${fmtValue(d.after)}`);
      } else {
        out.push(`        ${name}: ${fmtValue(d.before)} -> ${fmtValue(d.after)}`);
      }
    }
  }
  for (const u of plan.unmanaged) {
    const why = u.protected ? 'not in any manifest; protected, never pruned' : 'not in any manifest; prune: true on the target deletes it';
    out.push(c('dim', `  ?   unmanaged ${u.kind} ${u.id} on ${u.target} (${why})`));
  }
  const risks = riskFlags(plan);
  if (risks.length) out.push(c('red', `  Risk (needs ${riskApprovals(plan)} extra approval(s)):`));
  for (const r of risks) out.push(c('red', `    ! ${r.message}`) + c('dim', `  (${r.address}; ${r.policy})`));
  for (const p of plan.policy) {
    if (p.passed || isRiskPolicy(p)) continue;
    const tag = p.enforcement === 'mandatory' ? c('red', 'policy violation (mandatory)') : c('yellow', 'policy advisory');
    for (const v of p.violations) out.push(`  ${tag} ${v.code ? `${v.code} ` : ''}${p.name}: ${v.address}: ${v.message}${v.pos ? ` (${v.pos.file}:${v.pos.line}:${v.pos.col})` : ''}`);
    if (p.extraApprovals) out.push(`  ${tag} ${p.name}: needs ${p.extraApprovals} extra approval(s)`);
  }
  if (!plan.changes.length && !plan.errored.length) {
    if (!drift) out.push('  No changes. Live state matches the manifests.');
    // Unmanaged objects are drift too (drift exits 2 for them), so "No drift" only when there are none.
    else if (!plan.unmanaged.length) out.push('  No drift: live state matches the manifests.');
  }
  out.push(c('bold', `${drift ? 'Drift' : 'Plan'}: ${summaryLine(plan)}.`));
  if (!plan.complete) out.push(c('red', `Incomplete: ${plan.errored.length} target(s) could not be read; this plan cannot be applied.`));
  else if (!plan.applyable) out.push(c('red', 'Not applyable: a mandatory policy failed.'));
  if (!drift && plan.approvalsRequired.count) out.push(`Needs ${plan.approvalsRequired.count} approval(s)${plan.approvalsRequired.groups.length ? ` from ${plan.approvalsRequired.groups.join(', ')}` : ''} before apply.`);
  return out.join('\n') + '\n';
}
