/**
 * The one place where the checks around apply join: plan integrity, policy
 * results, governance (approvals, change windows, locks) and, after the
 * apply, the journal. `apply` calls checkBeforeApply before it opens any
 * connection; nothing reaches a device unless it says ok.
 */
import { resolve } from 'node:path';
import type { Catalog, Plan, Resource } from './types.js';
import { hasErrors, loadWorkspace, type Workspace } from './workspace.js';
import type { ApplyReport } from './apply.js';
import { readPlanFile } from './plan-file.js';
import { applyGate, planIntegrityProblems } from './governance/gate.js';
import { acquireAll, envLockStore, LocksHeldError } from './governance/locks.js';
import { ApplyJournal, journalKeyFor, journalSignersOf } from './governance/apply-journal.js';
import { cmdApprove, cmdJournalHead, cmdJournalVerify, cmdKeygen, cmdUnlock } from './governance/commands.js';
import { visible } from './render/escape.js';
import { CONNECTION_FILE_FIELDS, localRoots, pathProblem, type LocalRoots } from './local-files.js';
import type { PlanWithTargets } from './targets.js';

export interface GateResult {
  ok: boolean;
  reasons: string[];
  /** Releases whatever the gate took (the environment locks). */
  release?: () => Promise<void>;
  /** The apply's journal, its start entry already written (fsync'd) to every environment's journal. */
  journal?: ApplyJournal;
}

/** Reviewers, approval rules and change windows come from the manifests as they are now (the main branch), not from the plan. */
async function currentRules(catalog: Catalog, plan: Plan, keysDir?: string): Promise<{ ws: Workspace; gate: { reviewers: Resource[]; environments: Resource[] } } | { refused: string }> {
  const paths = plan.source?.paths ?? [];
  const ws = await loadWorkspace(catalog, paths, { repositoryWide: false, singleZone: true, keysDir });
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

export async function checkBeforeApply(
  catalog: Catalog,
  plan: PlanWithTargets,
  ctx: { emergency: boolean; planFile: string; waitSeconds: number; keysDir?: string; journalKey?: string },
): Promise<GateResult> {
  // Integrity first: an edited plan is refused before anything else is read.
  const integrity = planIntegrityProblems(plan);
  if (integrity.length) return { ok: false, reasons: integrity };
  if (!plan.complete) return { ok: false, reasons: ['the plan is incomplete: some targets could not be read when it was made; re-plan'] };
  if (plan.zone !== 'school' && plan.zone !== 'administration') return { ok: false, reasons: ['the plan names no single zone'] };

  const rules = await currentRules(catalog, plan, ctx.keysDir);
  if ('refused' in rules) return { ok: false, reasons: [rules.refused] };
  const ws = rules.ws;
  // The plan names the local files apply opens (a target's privateKeyFile): the same rules as at validate.
  const misplaced = planLocalFileProblems(plan, localRoots(ws.folders.map((f) => f.root), ctx.keysDir));
  if (misplaced.length) return { ok: false, reasons: misplaced };
  const gate = applyGate(plan, { ...rules.gate, now: new Date(), emergency: ctx.emergency });
  if (!gate.ok) return { ok: false, reasons: gate.reasons };
  if (!plan.changes.length) return { ok: true, reasons: [] };
  // Journals whose environment declares journalSigners are signed by one of them, or nothing is applied.
  const envs = ws.envs.map((e) => ({ name: e.name, dir: e.environment.dir, signers: journalSignersOf(e.environment) }));
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
    return { ok: true, reasons: [], release: locks.release, journal };
  } catch (e) {
    await locks.release();
    return { ok: false, reasons: [`cannot write the journal's start entry (${(e as Error).message}); nothing was applied`] };
  }
}

/** Connection files of the plan's targets (stored relative to the working directory) that resolve outside the repository and --keys-dir. */
function planLocalFileProblems(plan: PlanWithTargets, roots: LocalRoots): string[] {
  const out: string[] = [];
  for (const t of plan.targets ?? []) {
    for (const f of CONNECTION_FILE_FIELDS) {
      const v = t?.connection?.[f];
      if (typeof v !== 'string') continue;
      const problem = pathProblem(resolve(process.cwd(), v), roots, { keysDir: true });
      if (problem) out.push(`${t.address}: ${f} ${JSON.stringify(v)} ${problem}`);
    }
  }
  return out;
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
      r = cmdApprove(args[0], opts.key, { reviewer: opts.name as string | undefined, reviewers: await reviewersOfPlan(catalog, args[0]) });
      break;
    }
    case 'unlock':
      if (args.length !== 1 || typeof opts.id !== 'string') return usage('unlock needs an environment folder and --id ID');
      r = await cmdUnlock(args[0], opts.id);
      break;
    case 'journal':
      if (!['verify', 'head'].includes(args[0]) || args.length > 2) return usage('journal head ENVDIR | journal verify ENVDIR|FILE [--expect-head HASH]');
      r = args[0] === 'head' ? cmdJournalHead(args[1] ?? '.') : cmdJournalVerify(args[1] ?? '.', { expectedHead: opts['expect-head'] as string | undefined });
      break;
    default:
      return usage(`unknown command ${command}`);
  }
  for (const line of r.output) (r.exitCode === 0 ? process.stdout : process.stderr).write(visible(line) + '\n');
  return r.exitCode;
}

/** The Reviewer resources of a plan's environments, to name the signer; none if they cannot be loaded. */
async function reviewersOfPlan(catalog: Catalog, planFile: string) {
  try {
    const plan = readPlanFile(planFile);
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
