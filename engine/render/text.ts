/**
 * Terminal rendering of a plan (view.ts decides what is shown, in which
 * order): the header with where the rules came from, the risk list first,
 * then the changes per environment and target (+ create, ~ update,
 * - delete, -/+ replace), identical changes over a port range as one block,
 * field differences below, file content as a unified diff; at most
 * MAX_TEXT characters, saying what was left out. Colour only on a terminal
 * and without NO_COLOR; the only escape sequences in the output are those
 * colours (values are escaped first).
 */
import type { Plan } from '../types.js';
import { signatureLine } from './signatures.js';
import { actionSymbol, isRiskPolicy, riskApprovals, summaryLine } from './common.js';
import { visible, visibleDeep } from './escape.js';
import { blockLabel, Budget, fieldLines, groupChanges, riskItems, trustLine, vlanNames, type RiskCategory } from './view.js';

export interface TextOptions {
  color?: boolean;
  /** Wording for drift reports. */
  mode?: 'plan' | 'drift';
  /** Where the complete plan is (named when something is left out). */
  jsonHint?: string;
}

/** The most a text plan prints, like the markdown one. */
export const MAX_TEXT = 60_000;
/** Room kept for the closing lines (what was left out, summary, approvals). */
const TAIL = 800;
/** Risk lines shown per category before the rest is counted. */
const RISK_LINES = 20;

const codes = { green: 32, yellow: 33, red: 31, cyan: 36, bold: 1, dim: 2 } as const;

const RISK_LABEL: Record<RiskCategory, string> = { governance: 'rules', delete: 'delete', prune: 'prune', flag: 'flag', 'vlan-in-use': 'in use' };

export function renderText(raw: Plan, opts: TextOptions = {}): string {
  // Everything shown comes from the plan; no control character in it reaches the terminal raw (escape.ts).
  const plan = visibleDeep(raw);
  const c = (name: keyof typeof codes, s: string) => (opts.color ? `\u001b[${codes[name]}m${s}\u001b[0m` : s);
  const colorOf = (sym: string) => (sym === '+' ? 'green' : sym === '-' ? 'red' : sym === '~' ? 'yellow' : 'cyan');
  const drift = opts.mode === 'drift';
  const head: string[] = [];
  head.push(c('bold', `${drift ? 'Drift' : 'Plan'} for ${plan.environments.join(', ') || '(no environments)'}${plan.zone ? ` (zone ${plan.zone})` : ''}`));
  const trust = trustLine(plan);
  if (trust && !drift) head.push(`  ${trust.charAt(0).toUpperCase()}${trust.slice(1)}`);
  for (const e of plan.errored) head.push(c('red', `  ! ${e.target}: ${e.message}`));
  for (const w of plan.warnings) head.push(c('yellow', `  warning ${w.code}: ${w.message}${w.pos ? ` (${w.pos.file}:${w.pos.line}:${w.pos.col})` : ''}`));

  const risks = riskItems(plan);
  if (risks.length) {
    const extra = riskApprovals(plan);
    head.push(c('red', `Risk: read these first${extra ? ` (they add ${extra} approval(s) to those needed)` : ''}:`));
    for (const cat of Object.keys(RISK_LABEL) as RiskCategory[]) {
      const list = risks.filter((r) => r.category === cat);
      for (const r of list.slice(0, RISK_LINES)) head.push(c('red', `  ${RISK_LABEL[cat].padEnd(7)} ${r.category === 'flag' || r.category === 'vlan-in-use' ? '! ' : ''}${r.text}`) + c('dim', `  (${r.address})`));
      if (list.length > RISK_LINES) head.push(c('red', `  ${RISK_LABEL[cat].padEnd(7)} ... and ${list.length - RISK_LINES} more`));
    }
  }
  for (const p of plan.policy) {
    if (p.passed || isRiskPolicy(p)) continue;
    const tag = p.enforcement === 'mandatory' ? c('red', 'policy violation (mandatory)') : c('yellow', 'policy advisory');
    for (const v of p.violations) head.push(`  ${tag} ${v.code ? `${v.code} ` : ''}${p.name}: ${v.address}: ${v.message}${v.pos ? ` (${v.pos.file}:${v.pos.line}:${v.pos.col})` : ''}`);
    if (p.extraApprovals) head.push(`  ${tag} ${p.name}: needs ${p.extraApprovals} extra approval(s)`);
  }
  const out = new Budget(MAX_TEXT);
  let headLeft = 0;
  for (const line of head) if (headLeft || !out.add(line + '\n', TAIL)) headLeft++;
  if (headLeft) out.add(c('yellow', `... ${headLeft} more line(s) of warnings and policy results are in the JSON plan`) + '\n');

  const names = vlanNames(plan);
  let left = 0;
  for (const env of groupChanges(plan)) {
    if (!out.add(c('bold', env.env) + '\n', TAIL)) {
      left += env.targets.reduce((n, t) => n + t.changes, 0);
      continue;
    }
    for (const t of env.targets) {
      const lines = [`  ${t.target}: ${t.counts}`];
      for (const b of t.blocks) {
        const sym = actionSymbol(b.change);
        lines.push(c(colorOf(sym), `    ${sym.padEnd(3)} ${b.address}`) + c('dim', `  (${blockLabel(b)})`));
        for (const f of fieldLines(b, names)) {
          if (f.kind === 'line') lines.push(`          ${f.text}`);
          else {
            lines.push(`          ${f.name}:`);
            for (const line of f.diff.split('\n')) lines.push('            ' + c(line.startsWith('+') ? 'green' : line.startsWith('-') ? 'red' : line.startsWith('@@') ? 'cyan' : 'dim', line));
          }
        }
      }
      if (!out.add(lines.join('\n') + '\n', TAIL)) left += t.changes;
    }
  }
  const tail: string[] = [];
  for (const u of plan.unmanaged.slice(0, 50)) {
    const why = u.protected ? 'not in any manifest; protected, never pruned' : 'not in any manifest; prune: true on the target deletes it';
    tail.push(c('dim', `  ?   unmanaged ${u.kind} ${u.id} on ${u.target} (${why})`));
  }
  if (plan.unmanaged.length > 50) tail.push(c('dim', `  ?   ... and ${plan.unmanaged.length - 50} more unmanaged object(s)`));
  out.add(tail.length ? tail.join('\n') + '\n' : '', TAIL);
  const end: string[] = [];
  if (left) end.push(c('yellow', `${left} of ${plan.changes.length} changes are not shown, to keep this under ${MAX_TEXT} characters; the complete plan is in ${visible(opts.jsonHint ?? 'the JSON plan (plan --out FILE)')}.`));
  if (!plan.changes.length && !plan.errored.length) {
    if (!drift) end.push('  No changes. Live state matches the manifests.');
    // Unmanaged objects are drift too (drift exits 2 for them), so "No drift" only when there are none.
    else if (!plan.unmanaged.length) end.push('  No drift: live state matches the manifests.');
  }
  end.push(c('bold', `${drift ? 'Drift' : 'Plan'}: ${summaryLine(plan)}.`));
  if (!plan.complete) end.push(c('red', `Incomplete: ${plan.errored.length} target(s) could not be read; this plan cannot be applied.`));
  else if (!plan.applyable) end.push(c('red', 'Not applyable: a mandatory policy failed.'));
  if (!drift && plan.changes.length && plan.approvalsRequired.count) end.push(`Needs ${plan.approvalsRequired.count} approval(s)${plan.approvalsRequired.groups.length ? ` from ${plan.approvalsRequired.groups.join(', ')}` : ''} before apply.`);
  const signed = signatureLine(plan);
  if (!drift && signed) end.push(signed);
  return out.text() + end.join('\n') + '\n';
}
