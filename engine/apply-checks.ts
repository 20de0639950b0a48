/**
 * The one place where the checks around apply join: plan integrity, policy
 * results, governance (approvals, change windows, locks) and, after the
 * apply, the journal. `apply` calls checkBeforeApply before it opens any
 * connection; nothing reaches a device unless it says ok.
 */
import type { Catalog, Plan, Resource } from './types.js';
import { hasErrors, loadWorkspace, type Workspace } from './workspace.js';
import type { ApplyReport } from './apply.js';
import { readPlanFile } from './plan-file.js';
import { applyGate, planIntegrityProblems } from './governance/gate.js';
import { acquireAll, envLockStore, LocksHeldError } from './governance/locks.js';
import { ApplyJournal, journalKeyFor, journalSignersOf } from './governance/apply-journal.js';
import { cmdApprove, cmdJournalHead, cmdJournalVerify, cmdKeygen, cmdUnlock } from './governance/commands.js';
import { visible } from './render/escape.js';
import { isTargetResource, plannedTarget, type PlannedTarget, type PlanWithTargets } from './targets.js';
import { canonicalJson } from './hash.js';
import { findEnvironments } from './repository.js';
import { gateEnvironments, loadTrustedRules, onTrustedHistory, resolveTrust, TrustError, type Trust, type TrustedRules } from './trust.js';

export interface GateResult {
  ok: boolean;
  reasons: string[];
  /** Releases whatever the gate took (the environment locks). */
  release?: () => Promise<void>;
  /** The apply's journal, its start entry already written (fsync'd) to every environment's journal. */
  journal?: ApplyJournal;
  /** The targets as the repository declares them: apply connects to these. */
  targets?: PlannedTarget[];
}

/** Which fields of a planned target differ (names only: values may be hosts an attacker chose, or paths). */
function targetDifference(plan: PlannedTarget, repo: PlannedTarget): string {
  const fields = new Set<string>();
  for (const part of ['connection', 'spec'] as const) {
    const a = (plan?.[part] ?? {}) as Record<string, unknown>;
    const b = (repo[part] ?? {}) as Record<string, unknown>;
    for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) if (canonicalJson(a[k] ?? null) !== canonicalJson(b[k] ?? null)) fields.add(`${part}.${k}`);
  }
  for (const k of ['kind', 'name', 'zone', 'driver'] as const) if (plan?.[k] !== repo[k]) fields.add(k);
  return fields.size ? [...fields].sort().join(', ') : 'its form';
}

/** What apply trusts: the repository it runs in and the trusted revision, never the plan's word about places. */
export interface RepositoryRules {
  ws: Workspace;
  rules: TrustedRules;
  gate: { reviewers: Resource[]; environments: Resource[] };
  /** The targets as the repository declares them now (apply connects to these, not to the plan's). */
  targets: PlannedTarget[];
}

/**
 * Re-reads everything apply relies on from the repository it runs in
 * (the plan's environments found by name; their manifests must hash as the
 * plan says, their targets must be the plan's) and the rules from the plan's
 * trusted revision, which must lie on the history of the trusted ref.
 * Nothing of `plan.source.paths` or `plan.targets` is used.
 */
export async function repositoryRules(catalog: Catalog, plan: Plan, opts: { keysDir?: string; trustedRef?: string; cwd?: string } = {}): Promise<RepositoryRules | { refused: string[] }> {
  const cwd = opts.cwd ?? process.cwd();
  const names = Array.isArray(plan.environments) ? plan.environments.filter((n) => typeof n === 'string') : [];
  if (!names.length) return { refused: ['the plan names no environments'] };
  const found = findEnvironments(names, cwd, Array.isArray(plan.source?.paths) ? plan.source.paths : []);
  if (found.problems.length) return { refused: found.problems };
  const ws = await loadWorkspace(catalog, [...found.dirs.values()], { repositoryWide: false, singleZone: true, keysDir: opts.keysDir });
  if (hasErrors(ws.diagnostics)) {
    const first = ws.diagnostics.find((d) => d.severity === 'error')!;
    return { refused: [`the plan's environments do not validate in this repository now: ${first.pos ? `${first.pos.file}:${first.pos.line}:${first.pos.col}: ` : ''}${first.message}`] };
  }
  const refused: string[] = [];
  if (ws.manifestsHash !== plan.source?.manifestsHash) {
    refused.push(`the manifests of ${names.join(', ')} in ${found.root} differ from the ones the plan was made from (plan: ${String(plan.source?.manifestsHash).slice(0, 19)}..., here: ${ws.manifestsHash.slice(0, 19)}...); re-plan`);
  }
  const fresh = new Map(ws.resources.filter((r) => isTargetResource(catalog, r)).map((r) => [r.address, plannedTarget(r)]));
  const planTargets = Array.isArray((plan as PlanWithTargets).targets) ? (plan as PlanWithTargets).targets : [];
  for (const t of planTargets) {
    const mine = fresh.get(t?.address);
    if (!mine) refused.push(`target ${t?.address} of the plan is not declared in this repository`);
    else if (canonicalJson(mine) !== canonicalJson(t)) refused.push(`target ${t.address} in the plan differs from the repository's declaration (${targetDifference(t, mine)}); re-plan`);
  }
  for (const c of Array.isArray(plan.changes) ? plan.changes : []) {
    if (!fresh.has(c?.target)) refused.push(`change ${c?.address} names target ${c?.target}, which this repository does not declare`);
  }
  if (refused.length) return { refused: [...new Set(refused)] };

  // The trusted revision the plan was judged under must be one the trusted ref has pointed at.
  let now;
  try {
    now = resolveTrust(found.root, opts.trustedRef);
  } catch (e) {
    if (e instanceof TrustError) return { refused: [e.message] };
    throw e;
  }
  const claimed = plan.trust;
  let trust: Trust;
  if (claimed?.source === 'git') {
    if (now.trust.source !== 'git' || !now.trust.ref) return { refused: ['the plan was judged under a trusted git revision, but no trusted ref exists here; pass --trusted-ref'] };
    if (typeof claimed.commit !== 'string' || !onTrustedHistory(found.root, claimed.commit, now.trust.ref)) {
      return { refused: [`the plan's trusted revision ${String(claimed.commit).slice(0, 12)} is not on the history of ${now.trust.ref}; re-plan against the trusted branch`] };
    }
    trust = { source: 'git', ref: claimed.ref, commit: claimed.commit };
  } else {
    if (now.trust.source === 'git') return { refused: [`the plan was made without a trusted revision, but ${now.trust.ref} exists here; re-plan (with --trusted-ref)`] };
    trust = now.trust;
  }
  const rules = await loadTrustedRules(catalog, trust, ws);
  return { ws, rules, gate: { reviewers: rules.reviewers, environments: gateEnvironments(rules, ws.resources) }, targets: [...fresh.values()].filter((t) => planTargets.some((p) => p?.address === t.address)) };
}

/**
 * The merge gate of CI (`show --require-approvals`): does the plan carry every
 * approval apply will demand? Everything apply's governance checks except the
 * change window, which is about the moment of apply, and the lock.
 */
export async function checkApprovals(catalog: Catalog, plan: Plan, opts: { trustedRef?: string } = {}): Promise<{ ok: boolean; reasons: string[]; approvers: string[]; required: number }> {
  if (!plan.complete) return { ok: false, reasons: ['the plan is incomplete: some targets could not be read when it was made; re-plan'], approvers: [], required: 0 };
  const rules = await repositoryRules(catalog, plan, opts);
  if ('refused' in rules) return { ok: false, reasons: rules.refused, approvers: [], required: 0 };
  return applyGate(plan, { ...rules.gate, now: new Date(), emergency: false }, { changeWindows: false });
}

export async function checkBeforeApply(
  catalog: Catalog,
  plan: PlanWithTargets,
  ctx: { emergency: boolean; planFile: string; waitSeconds: number; keysDir?: string; journalKey?: string; trustedRef?: string },
): Promise<GateResult> {
  // Integrity first: an edited plan is refused before anything else is read.
  const integrity = planIntegrityProblems(plan);
  if (integrity.length) return { ok: false, reasons: integrity };
  if (!plan.complete) return { ok: false, reasons: ['the plan is incomplete: some targets could not be read when it was made; re-plan'] };
  if (plan.zone !== 'school' && plan.zone !== 'administration') return { ok: false, reasons: ['the plan names no single zone'] };

  const rules = await repositoryRules(catalog, plan, { keysDir: ctx.keysDir, trustedRef: ctx.trustedRef });
  if ('refused' in rules) return { ok: false, reasons: rules.refused };
  const ws = rules.ws;
  const gate = applyGate(plan, { ...rules.gate, now: new Date(), emergency: ctx.emergency });
  if (!gate.ok) return { ok: false, reasons: gate.reasons };
  if (!plan.changes.length) return { ok: true, reasons: [], targets: rules.targets };
  // Journals whose environment declares journalSigners (in the trusted revision) are signed by one of them, or nothing is applied.
  const envs = ws.envs.map((e) => ({ name: e.name, dir: e.environment.dir, signers: journalSignersOf(rules.rules.environments.get(e.name) ?? e.environment) }));
  const signing = journalKeyFor(envs, ctx.journalKey);
  if (signing.refusals.length) return { ok: false, reasons: signing.refusals };

  // The environments' locks: two applies to one environment never both run.
  let locks;
  try {
    locks = await acquireAll(ws.folders.map((f) => f.dir).map(envLockStore), {
      holder: `${plan.author ?? 'unknown'} (plan ${plan.hash.slice(0, 19)})`,
      wait: ctx.waitSeconds > 0,
      timeoutMs: ctx.waitSeconds * 1000,
    });
  } catch (e) {
    if (e instanceof LocksHeldError) return { ok: false, reasons: e.held.map((h) => h.message) };
    throw e;
  }
  // Write-ahead: the start entry is durable before the first change.
  try {
    const journal = await ApplyJournal.start(envs, signing.key, plan, { approvers: gate.approvers, emergency: ctx.emergency });
    return { ok: true, reasons: [], release: locks.release, journal, targets: rules.targets };
  } catch (e) {
    await locks.release();
    return { ok: false, reasons: [`cannot write the journal's start entry (${(e as Error).message}); nothing was applied`] };
  }
}

/** The journal's end entry of an apply that ran (its start and target entries are already written). */
export async function finishApply(gate: GateResult, report: ApplyReport): Promise<void> {
  const unwritten = (await gate.journal?.finish(report)) ?? [];
  for (const u of unwritten) process.stderr.write(`einklang: warning: journal entry not written: ${visible(u)}\n`);
}

/** keygen, approve, unlock, journal head / verify. */
export async function governanceCommand(catalog: Catalog, command: string, args: string[], opts: Record<string, string | boolean | undefined>): Promise<number> {
  let r: { exitCode: number; output: string[] };
  switch (command) {
    case 'keygen':
      if (typeof opts.out !== 'string') return usage('keygen needs --out DIR');
      r = cmdKeygen({ out: opts.out, name: opts.name as string | undefined });
      break;
    case 'approve': {
      if (args.length !== 1 || typeof opts.key !== 'string') return usage('approve needs a plan FILE and --key KEYFILE');
      let plan: Plan;
      try {
        plan = readPlanFile(args[0]);
      } catch (e) {
        return usage(`cannot read plan ${args[0]}: ${(e as Error).message}`);
      }
      // Who may sign comes from the trusted revision the plan was judged under, checked against this repository.
      const rr = await repositoryRules(catalog, plan, { trustedRef: opts['trusted-ref'] as string | undefined, keysDir: opts['keys-dir'] as string | undefined });
      if ('refused' in rr) {
        for (const reason of rr.refused) process.stderr.write(`einklang: approve refused: ${visible(reason)}\n`);
        return 1;
      }
      r = cmdApprove(args[0], opts.key, {
        reviewer: opts.name as string | undefined,
        reviewers: rr.gate.reviewers,
        requireDeclared: true,
        status: (p) => applyGate(p, { ...rr.gate, now: new Date(), emergency: false }, { changeWindows: false }),
      });
      break;
    }
    case 'unlock':
      if (args.length !== 1 || typeof opts.id !== 'string') return usage('unlock needs an environment folder and --id ID');
      r = await cmdUnlock(args[0], opts.id);
      break;
    case 'journal':
      if (!['verify', 'head'].includes(args[0]) || args.length > 2) return usage('journal head ENVDIR | journal verify ENVDIR|FILE [--expect-head HASH]');
      r = args[0] === 'head'
        ? cmdJournalHead(args[1] ?? '.', { trustedRef: opts['trusted-ref'] as string | undefined })
        : cmdJournalVerify(args[1] ?? '.', { expectedHead: opts['expect-head'] as string | undefined, trustedRef: opts['trusted-ref'] as string | undefined });
      break;
    default:
      return usage(`unknown command ${command}`);
  }
  for (const line of r.output) (r.exitCode === 0 ? process.stdout : process.stderr).write(visible(line) + '\n');
  return r.exitCode;
}

function usage(msg: string): number {
  process.stderr.write(`einklang: ${msg}\n`);
  return 1;
}
