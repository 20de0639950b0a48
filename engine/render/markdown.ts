/**
 * Markdown rendering for a merge-request comment: a summary table first,
 * details per target in collapsible sections, and never more than
 * MAX_MARKDOWN characters however large the plan (what does not fit is
 * counted and the reader is pointed to the JSON plan).
 */
import type { Change, LicenseUsage, Plan } from '../types.js';
import { actionSymbol, actionWord, fieldName, fmtValue, isRiskPolicy, isTextBlock, riskApprovals, riskFlags, summaryLine, unifiedDiff } from './common.js';
import { htmlText, mdCode, mdFence as fence, mdText as esc, visibleDeep } from './escape.js';
import { governanceLines, trustLine } from './governance.js';

export const MAX_MARKDOWN = 60_000;

function changeBlock(c: Change): string {
  const lines: string[] = [];
  lines.push(`**${mdCode(actionSymbol(c))} ${esc(c.address)}** — ${esc(actionWord(c))} ${esc(c.kind)} ${mdCode(c.id)}`);
  const plain: string[] = [];
  for (const d of c.diff) {
    if (isTextBlock(d)) lines.push('', fence(unifiedDiff(d, c.id), 'diff'));
    else if (d.sensitive) plain.push(`${fieldName(d)}: (sensitive) ${fmtValue(d.after)}`);
    else plain.push(c.actions[0] === 'create' ? `${fieldName(d)}: ${fmtValue(d.after)}` : `${fieldName(d)}: ${fmtValue(d.before)} -> ${fmtValue(d.after)}`);
  }
  if (plain.length) lines.push('', fence(plain.join('\n')));
  return lines.join('\n');
}

/** Rows of the license table at most; pools over their seats come first. */
const MAX_LICENSE_ROWS = 50;

/** The license pools of the plan: seats, seats checked out on the server, the plan's demand, expiry. */
function licenseTable(pools: LicenseUsage[], hint: string): string[] {
  const over = (p: LicenseUsage) => p.demand > p.seats;
  const rows = [...pools].sort((a, b) => Number(over(b)) - Number(over(a)) || a.address.localeCompare(b.address));
  const out = ['', '| license pool | seats | assigned (server) | demand (plan) | expires |', '|---|---:|---:|---:|---|'];
  for (const p of rows.slice(0, MAX_LICENSE_ROWS)) {
    const demand = `${p.demandIncomplete ? '≥ ' : ''}${p.demand}${over(p) ? ' ❌' : ''}`;
    // Seats, counts and the ISO date are numbers and validated dates; the pool's name is a manifest string.
    out.push(`| ${esc(p.pool)} (${mdCode(p.address)}) | ${p.seats} | ${p.assigned ?? '–'} | ${demand} | ${p.expires ?? 'never'} |`);
  }
  if (rows.length > MAX_LICENSE_ROWS) out.push('', `_${rows.length - MAX_LICENSE_ROWS} more license pool(s) are in ${esc(hint)}._`);
  return out;
}

export function renderMarkdown(raw: Plan, opts: { jsonHint?: string; mode?: 'plan' | 'drift' } = {}): string {
  // Values are shown through escape.ts: no control character raw, no way out of a code span or fence.
  const plan = visibleDeep(raw);
  const hint = opts.jsonHint ?? 'the JSON plan (artifact)';
  const head: string[] = [];
  const title = opts.mode === 'drift' ? 'einklang drift' : 'einklang plan';
  head.push(`### ${title}: ${esc(plan.environments.join(', '))}${plan.zone ? ` (zone ${esc(plan.zone)})` : ''}`);
  head.push('');
  head.push('| action | count |', '|---|---:|');
  const s = plan.summary;
  head.push(`| create | ${s.create} |`, `| update | ${s.update} |`, `| replace | ${s.replace} |`, `| delete | ${s.delete} |`, `| unchanged | ${s.noop} |`);
  if (s.unmanaged) head.push(`| unmanaged | ${s.unmanaged} |`);
  head.push('');
  const status = !plan.complete ? '❌ **incomplete** (targets could not be read)' : !plan.applyable ? '❌ **not applyable** (mandatory policy failed)' : plan.changes.length ? '✅ applyable' : '✅ no changes';
  head.push(`Status: ${status} · plan hash ${mdCode(plan.hash)} · ${esc(String(plan.approvalsRequired.count))} approval(s) required`);
  const trust = trustLine(plan);
  if (trust) head.push('', esc(trust));
  const governance = governanceLines(plan);
  if (governance.length) head.push('', '**⚠️ Governance changes** (approved under the trusted rules):', '', ...governance.map((l) => `- ${esc(l)}`));
  head.push('');
  for (const e of plan.errored) head.push(`- ❌ ${mdCode(e.target)}: ${esc(e.message)}`);
  const risks = riskFlags(plan);
  if (risks.length) head.push('', `**⚠️ Risk** (needs ${riskApprovals(plan)} extra approval(s)):`, '');
  for (const r of risks.slice(0, 20)) head.push(`- ⚠️ ${esc(r.message)} (${mdCode(r.address)})`);
  if (risks.length > 20) head.push(`- _${risks.length - 20} more in ${esc(hint)}_`);
  const failed = plan.policy.filter((p) => !p.passed);
  if (failed.length) {
    head.push('', '| policy | enforcement | violations |', '|---|---|---:|');
    for (const p of failed) head.push(`| ${esc(p.name)} | ${esc(p.enforcement)} | ${p.violations.length} |`);
    for (const p of failed.filter((f) => !isRiskPolicy(f))) for (const v of p.violations.slice(0, 20)) head.push(`- **${esc(p.name)}**${v.code && /^[A-Z][A-Z0-9_]*$/.test(v.code) ? ` ${v.code}` : ''} ${mdCode(v.address)}: ${esc(v.message)}${v.pos ? ` (${esc(v.pos.file)}:${v.pos.line}:${v.pos.col})` : ''}`);
  }
  const pools = plan.policy.flatMap((p) => p.licenses ?? []);
  if (pools.length) head.push(...licenseTable(pools, hint));
  head.push('');
  let out = head.join('\n');
  const byTarget = new Map<string, Change[]>();
  for (const c of plan.changes) (byTarget.get(c.target) ?? byTarget.set(c.target, []).get(c.target)!).push(c);
  const tailReserve = 600;
  let shown = 0;
  let omittedTargets = 0;
  for (const [target, changes] of byTarget) {
    const counts = new Map<string, number>();
    for (const c of changes) counts.set(actionWord(c), (counts.get(actionWord(c)) ?? 0) + 1);
    const summary = `<details><summary><code>${htmlText(target)}</code>: ${htmlText([...counts].map(([k, n]) => `${n} ${k}`).join(', '))}</summary>\n\n`;
    let section = summary;
    let inSection = 0;
    for (const c of changes) {
      const block = changeBlock(c) + '\n\n';
      if (out.length + section.length + block.length + tailReserve + 20 > MAX_MARKDOWN) break;
      section += block;
      inSection++;
    }
    if (inSection < changes.length) section += `_${changes.length - inSection} more change(s) on this target are in ${esc(hint)}._\n\n`;
    section += '</details>\n\n';
    if (out.length + section.length + tailReserve > MAX_MARKDOWN) {
      omittedTargets++;
      continue;
    }
    out += section;
    shown += inSection;
  }
  if (plan.unmanaged.length) {
    const list = plan.unmanaged.slice(0, 50).map((u) => `- ${mdCode(u.target)}: ${esc(u.kind)} ${mdCode(u.id)}`).join('\n');
    const sec = `<details><summary>${plan.unmanaged.length} unmanaged object(s)</summary>\n\n${list}\n\n</details>\n\n`;
    if (out.length + sec.length + tailReserve <= MAX_MARKDOWN) out += sec;
  }
  if (shown < plan.changes.length) {
    out += `> **${plan.changes.length - shown} of ${plan.changes.length} changes are not shown here${omittedTargets ? ` (${omittedTargets} target(s) left out entirely)` : ''}** to keep this comment under ${MAX_MARKDOWN} characters. The complete plan is in ${esc(hint)}.\n\n`;
  }
  out += `_${esc(summaryLine(plan))}._\n`;
  return out.length > MAX_MARKDOWN ? out.slice(0, MAX_MARKDOWN - 80) + `\n\n_(cut; see ${esc(hint)})_\n` : out;
}
