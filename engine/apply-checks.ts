/**
 * The one place where the checks around apply join: plan integrity, policy
 * results, governance (approvals, change windows, locks) and, after the
 * apply, the journal. `apply` calls checkBeforeApply before it opens any
 * connection; nothing reaches a device unless it says ok.
 */
import { readFileSync } from 'node:fs';
import type { Catalog, Plan, Resource } from './types.js';
import { hasErrors, loadWorkspace, type Workspace } from './workspace.js';
import type { ApplyReport } from './apply.js';
import { applyGate, planIntegrityProblems } from './governance/gate.js';
import { acquireAll, envLockStore, LocksHeldError } from './governance/locks.js';
import { appendJournal, journalPath, type JournalResult } from './governance/journal.js';
import { cmdApprove, cmdJournalVerify, cmdKeygen, cmdUnlock } from './governance/commands.js';

export interface GateResult {
  ok: boolean;
  reasons: string[];
  /** Releases whatever the gate took (the environment locks). */
  release?: () => Promise<void>;
  /** What the journal records. */
  journal?: { envDirs: string[]; emergency: boolean; approvers: string[] };
}

/** Reviewers, approval rules and change windows come from the manifests as they are now (the main branch), not from the plan. */
async function currentRules(catalog: Catalog, plan: Plan): Promise<{ ws: Workspace; gate: { reviewers: Resource[]; environments: Resource[] } } | { refused: string }> {
  const paths = plan.source?.paths ?? [];
  const ws = await loadWorkspace(catalog, paths, { repositoryWide: false, singleZone: true });
  if (hasErrors(ws.diagnostics)) {
    const first = ws.diagnostics.find((d) => d.severity === 'error')!;
    return { refused: `the plan's environments (${paths.join(', ')}) do not validate now: ${first.pos ? `${first.pos.file}:${first.pos.line}:${first.pos.col}: ` : ''}${first.message}` };
  }
  return { ws, gate: { reviewers: ws.resources.filter((r) => r.kind === 'Reviewer'), environments: ws.resources.filter((r) => r.kind === 'Environment') } };
}

/**
 * The merge gate of CI (`show --require-approvals`): does the plan carry every
 * approval apply will demand? Everything apply's governance checks except the
 * change window, which is about the moment of apply, and the lock.
 */
export async function checkApprovals(catalog: Catalog, plan: Plan): Promise<{ ok: boolean; reasons: string[]; approvers: string[]; required: number }> {
  if (!plan.complete) return { ok: false, reasons: ['the plan is incomplete: some targets could not be read when it was made; re-plan'], approvers: [], required: 0 };
  const rules = await currentRules(catalog, plan);
  if ('refused' in rules) return { ok: false, reasons: [rules.refused], approvers: [], required: 0 };
  return applyGate(plan, { ...rules.gate, now: new Date(), emergency: false }, { changeWindows: false });
}

export async function checkBeforeApply(catalog: Catalog, plan: Plan, ctx: { emergency: boolean; planFile: string; waitSeconds: number }): Promise<GateResult> {
  // Integrity first: an edited plan is refused before anything else is read.
  const integrity = planIntegrityProblems(plan);
  if (integrity.length) return { ok: false, reasons: integrity };
  if (!plan.complete) return { ok: false, reasons: ['the plan is incomplete: some targets could not be read when it was made; re-plan'] };
  if (plan.zone !== 'school' && plan.zone !== 'administration') return { ok: false, reasons: ['the plan names no single zone'] };

  const rules = await currentRules(catalog, plan);
  if ('refused' in rules) return { ok: false, reasons: [rules.refused] };
  const ws = rules.ws;
  const gate = applyGate(plan, { ...rules.gate, now: new Date(), emergency: ctx.emergency });
  if (!gate.ok) return { ok: false, reasons: gate.reasons };
  if (!plan.changes.length) return { ok: true, reasons: [] };

  // The environments' locks: two applies to one environment never both run.
  const envDirs = ws.folders.map((f) => f.dir);
  try {
    const locks = await acquireAll(envDirs.map(envLockStore), {
      holder: `${plan.author ?? 'unknown'} (plan ${plan.hash.slice(0, 19)})`,
      wait: ctx.waitSeconds > 0,
      timeoutMs: ctx.waitSeconds * 1000,
    });
    return { ok: true, reasons: [], release: locks.release, journal: { envDirs, emergency: ctx.emergency, approvers: gate.approvers } };
  } catch (e) {
    if (e instanceof LocksHeldError) return { ok: false, reasons: e.held.map((h) => h.message) };
    throw e;
  }
}

/** Every apply that ran appends one entry to the hash-chained journal of each of its environments. */
export async function finishApply(gate: GateResult, plan: Plan, report: ApplyReport): Promise<void> {
  if (!gate.journal) return;
  const results: JournalResult[] = [
    ...report.applied.map((address) => ({ address, status: 'applied' as const })),
    ...report.failed.map((f) => ({ address: f.address, status: 'failed' as const, message: f.message })),
    ...report.skipped.map((s) => ({ address: s.address, status: 'skipped' as const, message: s.reason })),
  ];
  for (const dir of gate.journal.envDirs) {
    await appendJournal(journalPath(dir), {
      author: plan.author,
      approvers: gate.journal.approvers,
      planHash: plan.hash,
      emergency: gate.journal.emergency,
      results,
      refused: report.refused,
      environments: plan.environments,
      zone: plan.zone,
    });
  }
}

/** keygen, approve, unlock, journal verify. */
export async function governanceCommand(catalog: Catalog, command: string, args: string[], opts: Record<string, string | boolean | undefined>): Promise<number> {
  let r: { exitCode: number; output: string[] };
  switch (command) {
    case 'keygen':
      if (typeof opts.out !== 'string') return usage('keygen needs --out DIR');
      r = cmdKeygen({ out: opts.out, name: opts.name as string | undefined });
      break;
    case 'approve': {
      if (args.length !== 1 || typeof opts.key !== 'string') return usage('approve needs a plan FILE and --key KEYFILE');
      r = cmdApprove(args[0], opts.key, { reviewer: opts.name as string | undefined, reviewers: await reviewersOfPlan(catalog, args[0]) });
      break;
    }
    case 'unlock':
      if (args.length !== 1 || typeof opts.id !== 'string') return usage('unlock needs an environment folder and --id ID');
      r = await cmdUnlock(args[0], opts.id);
      break;
    case 'journal':
      if (args[0] !== 'verify' || args.length > 2) return usage('journal verify [FILE|ENVDIR]');
      r = cmdJournalVerify(args[1] ?? '.');
      break;
    default:
      return usage(`unknown command ${command}`);
  }
  for (const line of r.output) (r.exitCode === 0 ? process.stdout : process.stderr).write(line + '\n');
  return r.exitCode;
}

/** The Reviewer resources of a plan's environments, to name the signer; none if they cannot be loaded. */
async function reviewersOfPlan(catalog: Catalog, planFile: string) {
  try {
    const plan = JSON.parse(readFileSync(planFile, 'utf8')) as Plan;
    const ws = await loadWorkspace(catalog, plan.source?.paths ?? [], { repositoryWide: false });
    return ws.resources.filter((r) => r.kind === 'Reviewer');
  } catch {
    return []; // cmdApprove reports an unreadable plan itself
  }
}

function usage(msg: string): number {
  process.stderr.write(`einklang: ${msg}\n`);
  return 1;
}
