/**
 * The one place where the checks around apply join: plan integrity, policy
 * results, governance (approvals, change windows, locks) and, after the
 * apply, the journal. `apply` calls checkBeforeApply before it opens any
 * connection; nothing reaches a device unless it says ok.
 */
import { resolve } from 'node:path';
import type { Change, Diagnostic, PolicyResult } from './types.js';
import { hasErrors, loadWorkspace, type Workspace } from './workspace.js';
import type { ApplyReport } from './apply.js';
import { computePlanHash, readPlanFile } from './plan-file.js';
import { evaluatePlanPolicies, evaluateValidatePolicies, policyDiagnostics } from '../policies/index.js';
import { applyGate } from './governance/gate.js';
import { planAuthor } from './governance/approvals.js';
import { acquireAll, envLockStore, LockHeldError } from './governance/locks.js';
import { ApplyJournal, journalKeyFor, journalSignersOf } from './governance/apply-journal.js';
import { cmdApprove, cmdJournalHead, cmdJournalVerify, cmdKeygen, cmdUnlock } from './governance/commands.js';
import { visible } from './render/escape.js';
import { CONNECTION_FILE_FIELDS, localRoots, pathProblem, type LocalRoots } from './local-files.js';
import type { PlanWithTargets } from './plan.js';

export interface GateResult {
  ok: boolean;
  reasons: string[];
  /** Releases whatever the gate took (the environment locks). */
  release?: () => Promise<void>;
  /** The apply's journal, its start entry already written (fsync'd) to every environment's journal. */
  journal?: ApplyJournal;
}

/** Who made the plan: --author, the CI's user variables, or git's user.email. */
export function resolveAuthor(explicit?: string): string | null {
  return planAuthor({ author: explicit ?? null });
}

/** Approval rules of a run: the strictest of its environments (0 when an environment declares none). */
export function planApprovalRules(ws: Workspace): { count: number; groups: string[] } {
  let count = 0;
  const groups = new Set<string>();
  for (const e of ws.envs) {
    const a = e.environment.spec.approvals ?? {};
    count = Math.max(count, a.required ?? 0);
    for (const g of a.groups ?? []) groups.add(g);
  }
  return { count, groups: [...groups].sort() };
}

/** Validate-time policies over the whole repository (zone separation needs every environment). */
export function validatePolicies(ws: Workspace): { results: PolicyResult[]; diagnostics: Diagnostic[] } {
  const results = evaluateValidatePolicies({ resources: ws.repository, zoneResources: ws.resources });
  return { results, diagnostics: policyDiagnostics(results) };
}

/** Plan-time policies over the planned changes, joined with the validate-time results already computed. */
export function planPolicies(ws: Workspace, changes: Change[], validated: PolicyResult[]): PolicyResult[] {
  return evaluatePlanPolicies({ resources: ws.repository, zoneResources: ws.resources, changes, validated });
}

export async function checkBeforeApply(plan: PlanWithTargets, ctx: { emergency: boolean; planFile: string; waitSeconds: number; keysDir?: string; journalKey?: string }): Promise<GateResult> {
  // Integrity first: an edited plan is refused before anything else is read.
  if (computePlanHash(plan) !== plan.hash) return { ok: false, reasons: ['plan hash does not match its content (hash mismatch): the plan was modified after it was made; re-plan'] };
  if (!plan.complete) return { ok: false, reasons: ['the plan is incomplete: some targets could not be read when it was made; re-plan'] };
  if (plan.zone !== 'school' && plan.zone !== 'administration') return { ok: false, reasons: ['the plan names no single zone'] };

  // Reviewers, approval rules and change windows come from the manifests as they are now (the main branch), not from the plan.
  const paths = plan.source?.paths ?? [];
  const ws = loadWorkspace(paths, { repositoryWide: false, singleZone: true, keysDir: ctx.keysDir });
  if (hasErrors(ws.diagnostics)) {
    const first = ws.diagnostics.find((d) => d.severity === 'error')!;
    return { ok: false, reasons: [`the plan's environments (${paths.join(', ')}) do not validate now: ${first.pos ? `${first.pos.file}:${first.pos.line}:${first.pos.col}: ` : ''}${first.message}`] };
  }
  // The plan names the local files apply opens (a target's privateKeyFile): the same rules as at validate.
  const misplaced = planLocalFileProblems(plan, localRoots(ws.folders.map((f) => f.root), ctx.keysDir));
  if (misplaced.length) return { ok: false, reasons: misplaced };
  const gate = applyGate(plan, {
    reviewers: ws.resources.filter((r) => r.kind === 'Reviewer'),
    environments: ws.resources.filter((r) => r.kind === 'Environment'),
    now: new Date(),
    emergency: ctx.emergency,
  });
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
    if (e instanceof LockHeldError) return { ok: false, reasons: [e.message] };
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
export async function governanceCommand(command: string, args: string[], opts: Record<string, string | boolean | undefined>): Promise<number> {
  let r: { exitCode: number; output: string[] };
  switch (command) {
    case 'keygen':
      if (typeof opts.out !== 'string') return usage('keygen needs --out DIR');
      r = cmdKeygen({ out: opts.out, name: opts.name as string | undefined });
      break;
    case 'approve': {
      if (args.length !== 1 || typeof opts.key !== 'string') return usage('approve needs a plan FILE and --key KEYFILE');
      r = cmdApprove(args[0], opts.key, { reviewer: opts.name as string | undefined, reviewers: reviewersOfPlan(args[0]) });
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
function reviewersOfPlan(planFile: string) {
  try {
    const plan = readPlanFile(planFile);
    const ws = loadWorkspace(plan.source?.paths ?? [], { repositoryWide: false });
    return ws.resources.filter((r) => r.kind === 'Reviewer');
  } catch {
    return []; // cmdApprove reports an unreadable plan itself
  }
}

function usage(msg: string): number {
  process.stderr.write(`einklang: ${msg}\n`);
  return 1;
}
