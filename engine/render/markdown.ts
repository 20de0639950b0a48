/**
 * Markdown rendering for a merge-request comment (view.ts decides what is
 * shown, in which order): the header (environments, where the rules came
 * from, status, approvals needed), a summary table, the risk list open
 * above everything else, failed policies, then one section per environment
 * with a collapsible block per target (open when it deletes something).
 * Never more than MAX_MARKDOWN characters however large the plan: what does
 * not fit is counted and the reader is pointed to the JSON plan.
 */
import type { LicenseUsage, Plan } from '../types.js';
import { signatureLine } from './signatures.js';
import { actionSymbol, actionWord, isRiskPolicy, riskApprovals, summaryLine, targetName } from './common.js';
import { htmlText, mdCode, mdFence as fence, mdText as esc, visibleDeep } from './escape.js';
import { blockLabel, Budget, fieldLines, groupChanges, objectParts, riskItems, trustLine, vlanNames, type Block, type RiskCategory } from './view.js';

export const MAX_MARKDOWN = 60_000;
/** Room kept for the closing lines. */
const TAIL = 600;
/** Risk lines shown per category before the rest is counted. */
const RISK_LINES = 20;

const RISK_LABEL: Record<RiskCategory, string> = { governance: '🏛️ rules', delete: '🗑️ delete', prune: '✂️ prune', flag: '⚠️', 'vlan-in-use': '⚠️ in use' };

/** `File `/etc/motd` on server`, `24 SwitchPorts on access-01`: an id is a code span, so it reads exactly. */
function blockLabelMarkdown(b: Block): string {
  if (b.ids.length > 1) return esc(blockLabel(b));
  const o = objectParts(b.change);
  return `${esc(o.kind)} ${mdCode(o.id)}${o.name ? ` (${esc(o.name)})` : ''} on ${esc(targetName(b.change))}`;
}

function changeBlock(b: Block, names: ReturnType<typeof vlanNames>): string {
  const lines = [`**${mdCode(actionSymbol(b.change))} ${esc(b.address)}** — ${esc(actionWord(b.change))} ${blockLabelMarkdown(b)}`];
  const plain: string[] = [];
  for (const f of fieldLines(b, names)) {
    if (f.kind === 'diff') lines.push('', fence(f.diff, 'diff'));
    else plain.push(f.text);
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
  const drift = opts.mode === 'drift';
  const head: string[] = [];
  head.push(`### ${drift ? 'einklang drift' : 'einklang plan'}: ${esc(plan.environments.join(', '))}${plan.zone ? ` (zone ${esc(plan.zone)})` : ''}`);
  head.push('');
  const status = !plan.complete ? '❌ **incomplete** (targets could not be read)' : !plan.applyable ? '❌ **not applyable** (mandatory policy failed)' : plan.changes.length ? '✅ applyable' : '✅ no changes';
  const trust = trustLine(plan);
  const approvals = !drift && plan.changes.length ? ` · **${plan.approvalsRequired.count} approval(s)** needed${plan.approvalsRequired.groups.length ? ` from ${esc(plan.approvalsRequired.groups.join(', '))}` : ''}` : '';
  head.push(`Status: ${status}${approvals} · plan hash ${mdCode(plan.hash)}${trust && !drift ? ` · ${esc(trust)}` : ''}`);
  const signed = signatureLine(plan);
  if (!drift && signed) head.push('', esc(signed));
  head.push('');
  head.push('| action | count |', '|---|---:|');
  const s = plan.summary;
  head.push(`| create | ${s.create} |`, `| update | ${s.update} |`, `| replace | ${s.replace} |`, `| delete | ${s.delete} |`, `| unchanged | ${s.noop} |`);
  if (s.unmanaged) head.push(`| unmanaged | ${s.unmanaged} |`);
  head.push('');
  for (const e of plan.errored.slice(0, 20)) head.push(`- ❌ ${mdCode(e.target)}: ${esc(e.message)}`);
  if (plan.errored.length > 20) head.push(`- _${plan.errored.length - 20} more unreadable target(s) in ${esc(hint)}_`);
  const risks = riskItems(plan);
  if (risks.length) {
    const extra = riskApprovals(plan);
    head.push('', `#### ⚠️ Risk: read these first${extra ? ` (they add ${extra} approval(s) to those needed)` : ''}`, '');
    for (const cat of Object.keys(RISK_LABEL) as RiskCategory[]) {
      const list = risks.filter((r) => r.category === cat);
      for (const r of list.slice(0, RISK_LINES)) head.push(`- ${RISK_LABEL[cat]} ${esc(r.text)} (${mdCode(r.address)})`);
      if (list.length > RISK_LINES) head.push(`- ${RISK_LABEL[cat]} _${list.length - RISK_LINES} more in ${esc(hint)}_`);
    }
  }
  const failed = plan.policy.filter((p) => !p.passed);
  if (failed.length) {
    head.push('', '| policy | enforcement | violations |', '|---|---|---:|');
    for (const p of failed) head.push(`| ${esc(p.name)} | ${esc(p.enforcement)} | ${p.violations.length} |`);
    for (const p of failed.filter((f) => !isRiskPolicy(f))) for (const v of p.violations.slice(0, 20)) head.push(`- **${esc(p.name)}**${v.code && /^[A-Z][A-Z0-9_]*$/.test(v.code) ? ` ${v.code}` : ''} ${mdCode(v.address)}: ${esc(v.message)}${v.pos ? ` (${esc(v.pos.file)}:${v.pos.line}:${v.pos.col})` : ''}`);
  }
  const pools = plan.policy.flatMap((p) => p.licenses ?? []);
  if (pools.length) head.push(...licenseTable(pools, hint));
  head.push('');
  const out = new Budget(MAX_MARKDOWN);
  let headLeft = 0;
  for (const line of head) if (headLeft || !out.add(line + '\n', TAIL)) headLeft++;
  if (headLeft) out.add(`\n_${headLeft} more line(s) of the summary are in ${esc(hint)}._\n\n`);

  const names = vlanNames(plan);
  let left = 0;
  let omittedTargets = 0;
  for (const env of groupChanges(plan)) {
    if (!out.add(`#### ${esc(env.env)}\n\n`, TAIL)) {
      left += env.targets.reduce((n, t) => n + t.changes, 0);
      omittedTargets += env.targets.length;
      continue;
    }
    for (const t of env.targets) {
      const open = t.blocks.some((b) => b.change.actions.length === 1 && b.change.actions[0] === 'delete') ? ' open' : '';
      let section = `<details${open}><summary><code>${htmlText(t.target)}</code>: ${htmlText(t.counts)}</summary>\n\n`;
      let inSection = 0;
      for (const b of t.blocks) {
        const block = changeBlock(b, names) + '\n\n';
        // the block, this section's closing lines and what the rest of the comment needs
        if (out.length + section.length + block.length + TAIL + 120 > MAX_MARKDOWN) break;
        section += block;
        inSection += b.ids.length;
      }
      if (inSection < t.changes) section += `_${t.changes - inSection} more change(s) on this target are in ${esc(hint)}._\n\n`;
      section += '</details>\n\n';
      if (!out.add(section, TAIL)) {
        left += t.changes;
        omittedTargets++;
      } else left += t.changes - inSection;
    }
  }
  if (plan.unmanaged.length) {
    const list = plan.unmanaged.slice(0, 50).map((u) => `- ${mdCode(u.target)}: ${esc(u.kind)} ${mdCode(u.id)}`).join('\n');
    out.add(`<details><summary>${plan.unmanaged.length} unmanaged object(s)</summary>\n\n${list}\n\n</details>\n\n`, TAIL);
  }
  let tail = '';
  if (left) tail += `> **${left} of ${plan.changes.length} changes are not shown here${omittedTargets ? ` (${omittedTargets} target(s) left out entirely)` : ''}** to keep this comment under ${MAX_MARKDOWN} characters. The complete plan is in ${esc(hint)}.\n\n`;
  tail += `_${esc(summaryLine(plan))}._\n`;
  return out.text() + tail;
}
