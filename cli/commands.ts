/**
 * The verbs. Each returns its exit code; output goes to stdout (results) and
 * stderr (diagnostics, progress).
 */
import { relative, resolve } from 'node:path';
import type { Diagnostic } from '../engine/types.js';
import { hasErrors, loadWorkspace, type Workspace } from '../engine/workspace.js';
import { computePlan, type PlanWithTargets } from '../engine/plan.js';
import { readPlanFile, writePlanFile, PlanFileError } from '../engine/plan-file.js';
import { renderText } from '../engine/render/text.js';
import { planPolicies, planApprovalRules, planTrust, resolveAuthor, validatePolicies, type PlanTrust } from '../engine/plan-rules.js';
import { TrustError } from '../engine/trust.js';
import type { PolicyResult } from '../engine/types.js';
import { Secrets } from '../engine/secrets.js';
import { Progress } from './progress.js';
import { defaultCatalog } from './catalog.js';
import { timings } from '../engine/timings.js';
import { redactOutput } from './redact-output.js';
import { visible, visibleJson } from '../engine/render/escape.js';
import { diagnosticsJson } from './json-output.js';

export class UsageError extends Error {}

type Opts = Record<string, string | boolean | undefined>;

export function formatDiagnostic(d: Diagnostic): string {
  const where = d.pos ? `${d.pos.file}:${d.pos.line}:${d.pos.col}: ` : 'einklang: ';
  return visible(`${where}${d.severity} ${d.code}: ${d.message}`);
}

function printDiagnostics(ds: Diagnostic[], format: string): void {
  if (format === 'json') return;
  for (const d of ds) process.stderr.write(formatDiagnostic(d) + '\n');
  const errors = ds.filter((d) => d.severity === 'error').length;
  if (errors) process.stderr.write(`einklang: ${errors} error(s)\n`);
}

function format(opts: Opts, allowed: string[]): string {
  const f = (opts.format as string | undefined) ?? 'text';
  if (!allowed.includes(f)) throw new UsageError(`--format must be one of ${allowed.join(', ')}`);
  return f;
}

function int(opts: Opts, name: string, dflt: number): number {
  const v = opts[name];
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > 1024) throw new UsageError(`--${name} must be a whole number from 1 to 1024`);
  return n;
}

/** The zone's secrets; every one of them is redacted by value from everything the run prints. */
function secretsFor(zone: 'school' | 'administration', opts: Opts): Secrets {
  const dir = (opts['secrets-dir'] as string | undefined) ?? process.env.EINKLANG_SECRETS_DIR;
  const secrets = new Secrets({ zone, dir: dir ? resolve(dir) : undefined }).redactAll();
  redactOutput(secrets);
  return secrets;
}

/** --keys-dir (or EINKLANG_KEYS_DIR): connection files may resolve inside it as well as inside the repository. */
function keysDir(opts: Opts): string | undefined {
  const dir = (opts['keys-dir'] as string | undefined) ?? process.env.EINKLANG_KEYS_DIR;
  return dir ? resolve(dir) : undefined;
}

function needPaths(args: string[], verb: string): void {
  if (!args.length) throw new UsageError(`${verb} needs at least one PATH`);
}

async function renderPlan(plan: PlanWithTargets, f: string, mode: 'plan' | 'drift', jsonHint?: string): Promise<string> {
  if (f === 'json') return visibleJson(JSON.stringify(plan, null, 2)) + '\n';
  if (f === 'markdown') return (await import('../engine/render/markdown.js')).renderMarkdown(plan, { jsonHint, mode });
  return renderText(plan, { color: !!process.stdout.isTTY && !process.env.NO_COLOR, mode, jsonHint });
}

async function planWorkspace(ws: Workspace, opts: Opts, progress: Progress, verb: string, validated: PolicyResult[], trust: PlanTrust): Promise<PlanWithTargets> {
  const secrets = secretsFor(ws.zone!, opts);
  const rules = planApprovalRules(ws, trust);
  return computePlan(ws, {
    secrets,
    concurrency: int(opts, 'concurrency', 32),
    timeoutMs: int(opts, 'timeout', 30) * 1000,
    progress: (e) => progress.update(verb, e.done, e.total, e.target, e.ok, e.message),
    author: resolveAuthor(opts.author as string | undefined),
    policies: (changes, observed) => planPolicies(ws, changes, validated, observed, trust),
    approvalsRequired: rules,
    trust: { trust: trust.trust, governance: trust.governance },
    trustedObject: trust.trustedObject,
  });
}

async function staticWorkspace(args: string[], fmt: string, singleZone: boolean, opts: Opts): Promise<Workspace | undefined> {
  timings.mark('load+validate');
  const ws = await loadWorkspace(defaultCatalog(), args, { singleZone, keysDir: keysDir(opts) });
  printDiagnostics(ws.diagnostics, fmt);
  if (hasErrors(ws.diagnostics)) {
    if (fmt === 'json') process.stdout.write(diagnosticsJson(false, ws.diagnostics));
    return undefined;
  }
  return ws;
}

/** show --require-approvals: CI's merge gate. The verdict goes to stderr, so stdout stays the rendered plan. */
async function reportApprovals(plan: PlanWithTargets, opts: Opts): Promise<number> {
  const { checkApprovals } = await import('../engine/apply-checks.js');
  const r = await checkApprovals(defaultCatalog(), plan, { trustedRef: opts['trusted-ref'] as string | undefined });
  const signed = r.approvers.length ? ` (${r.approvers.join(', ')})` : '';
  if (r.ok) {
    process.stderr.write(`einklang: approvals complete: ${r.approvers.length} valid of ${r.required} required${signed}\n`);
    return 0;
  }
  for (const reason of r.reasons) process.stderr.write(`einklang: approvals missing: ${reason}\n`);
  return 1;
}

export async function runCommand(command: string, args: string[], opts: Opts): Promise<number> {
  switch (command) {
    case 'validate': {
      needPaths(args, 'validate');
      const f = format(opts, ['text', 'json']);
      const ws = await loadWorkspace(defaultCatalog(), args, { keysDir: keysDir(opts) });
      const policyDiags = hasErrors(ws.diagnostics) ? [] : (await validatePolicies(ws)).diagnostics;
      const all = [...ws.diagnostics, ...policyDiags];
      printDiagnostics(all, f);
      const ok = !hasErrors(all);
      if (f === 'json') process.stdout.write(diagnosticsJson(ok, all));
      else if (ok) process.stdout.write(`valid: ${ws.envs.length} environment(s), ${ws.resources.length} resource(s)\n`);
      return ok ? 0 : 1;
    }
    case 'plan':
    case 'drift': {
      needPaths(args, command);
      const f = format(opts, ['text', 'json', 'markdown']);
      const ws = await staticWorkspace(args, f, true, opts);
      if (!ws) return 1;
      // The rules come from the trusted revision, never from the change; its management networks bound where targets may be.
      timings.mark('trust');
      let trust: PlanTrust;
      try {
        trust = await planTrust(ws, opts['trusted-ref'] as string | undefined);
      } catch (e) {
        if (!(e instanceof TrustError)) throw e;
        process.stderr.write(`einklang: error E_TRUST: ${visible(e.message)}\n`);
        return 1;
      }
      process.stderr.write(`einklang: trust: ${visible(trust.note)}\n`);
      printDiagnostics(trust.diagnostics, f);
      if (hasErrors(trust.diagnostics)) return 1;
      // Policies that need no live state run before any device is read; a mandatory violation stops here.
      timings.mark('policies');
      const validated = await validatePolicies(ws, trust);
      printDiagnostics(validated.diagnostics, f);
      if (hasErrors(validated.diagnostics)) {
        if (f === 'json') process.stdout.write(diagnosticsJson(false, validated.diagnostics));
        return 1;
      }
      const progress = Progress.forStderr(!!opts.quiet);
      const plan = await planWorkspace(ws, opts, progress, 'read', validated.results, trust);
      progress.finish();
      timings.mark('output');
      if (typeof opts.out === 'string') writePlanFile(opts.out, plan);
      process.stdout.write(await renderPlan(plan, f, command, typeof opts.out === 'string' ? opts.out : undefined));
      if (!plan.complete) return 1;
      if (command === 'plan' && !plan.applyable) return 1;
      const changed = plan.changes.length > 0 || (command === 'drift' && plan.unmanaged.length > 0);
      return changed ? 2 : 0;
    }
    case 'show': {
      if (args.length !== 1) throw new UsageError('show needs exactly one plan FILE');
      const f = format(opts, ['text', 'json', 'markdown']);
      try {
        const plan = readPlanFile(args[0]);
        process.stdout.write(await renderPlan(plan, f, 'plan', args[0]));
        return opts['require-approvals'] ? reportApprovals(plan, opts) : 0;
      } catch (e) {
        if (e instanceof PlanFileError) {
          process.stderr.write(visible(`${args[0]}:1:1: error E_PLAN: ${e.message}`) + '\n');
          if (f === 'json') process.stdout.write(diagnosticsJson(false, [{ severity: 'error', code: 'E_PLAN', message: e.message, pos: { file: args[0], line: 1, col: 1 } }]));
          return 1;
        }
        throw e;
      }
    }
    case 'apply': {
      if (args.length !== 1) throw new UsageError('apply needs exactly one plan FILE');
      let plan: PlanWithTargets;
      try {
        plan = readPlanFile(args[0]);
      } catch (e) {
        if (e instanceof PlanFileError) {
          process.stderr.write(visible(`${args[0]}:1:1: error E_PLAN: ${e.message}`) + '\n');
          return 1;
        }
        throw e;
      }
      // A plan applied before (a retried CI job): one line from the journal, not every change reported stale.
      // Exit 0: everything the plan changes was applied, and nothing failed or was refused now.
      const done = await (await import('../engine/applied-before.js')).appliedBefore(plan);
      if (done) {
        process.stdout.write(visible(`already applied (journal entry ${done.seq}, ${relative(process.cwd(), done.file)}:${done.line}, ${done.time}); nothing to do. Re-plan to see the live state now.`) + '\n');
        return 0;
      }
      const progress = Progress.forStderr(!!opts.quiet);
      // Interrupted (Ctrl-C, CI job cancelled): release the environment locks so the next run need not unlock by hand.
      // Switches protect themselves: an unconfirmed transaction reverts by its own timer.
      let release: (() => Promise<void>) | undefined;
      let interrupted: ((sig: string) => Promise<void>) | undefined; // the journal's end entry
      const onSignal = (sig: NodeJS.Signals) => {
        process.stderr.write(`einklang: apply interrupted by ${sig}; releasing locks. Changes already applied stay; re-plan to see the state.\n`);
        void Promise.resolve(interrupted?.(sig))
          .catch(() => undefined)
          .then(() => release?.())
          .finally(() => process.exit(130));
      };
      process.once('SIGINT', onSignal);
      process.once('SIGTERM', onSignal);
      // Loaded only by apply: the governance checks, locks, journal and the apply walk.
      const { checkBeforeApply, finishApply } = await import('../engine/apply-checks.js');
      const { applyPlan } = await import('../engine/apply.js');
      const gate = await checkBeforeApply(defaultCatalog(), plan, { emergency: !!opts.emergency, planFile: args[0], waitSeconds: opts.wait ? Number(opts.wait) : 0, keysDir: keysDir(opts), journalKey: opts['journal-key'] as string | undefined, trustedRef: opts['trusted-ref'] as string | undefined });
      release = gate.release;
      interrupted = gate.journal && ((sig) => gate.journal!.interrupted(sig));
      if (!gate.ok) {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
        for (const r of gate.reasons) process.stderr.write(`einklang: apply refused: ${visible(r)}\n`);
        return 1;
      }
      try {
        if (!plan.changes.length) {
          process.stdout.write('Nothing to apply: the plan has no changes.\n');
          await finishApply(gate, { refused: [], applied: [], failed: [], skipped: [] });
          return 0;
        }
        const secrets = secretsFor(plan.zone!, opts);
        // Connect to the targets as the repository declares them (checked equal to the plan's), never to the plan's word.
        if (gate.targets) plan.targets = gate.targets;
        const report = await applyPlan(plan, {
          catalog: defaultCatalog(),
          secrets,
          concurrency: int(opts, 'concurrency', 16),
          timeoutMs: int(opts, 'timeout', 30) * 1000,
          progress: (e) => progress.update(e.phase === 'connect' ? 'check' : e.phase, e.done, e.total, e.target, e.ok, e.message),
          onTargetDone: gate.journal?.targetDone,
        });
        progress.finish();
        await finishApply(gate, report);
        if (report.refused.length) {
          for (const r of report.refused) process.stderr.write(`einklang: apply refused: ${visible(r)}\n`);
          process.stdout.write('Apply refused: nothing was changed.\n');
          return 1;
        }
        const out: string[] = [];
        for (const a of report.applied) out.push(`  applied  ${a}`);
        for (const f of report.failed) out.push(`  FAILED   ${f.address}: ${f.message}${f.rolledBack && !/rolled back/i.test(f.message) ? ' (rolled back: the device is back in its previous configuration)' : ''}`);
        for (const s of report.skipped) out.push(`  skipped  ${s.address}: ${s.reason}`);
        out.push(`Apply: ${report.applied.length} applied, ${report.failed.length} failed, ${report.skipped.length} skipped.`);
        process.stdout.write(visible(out.join('\n')) + '\n');
        return report.failed.length || report.skipped.length ? 1 : 0;
      } finally {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
        await gate.release?.();
      }
    }
    case 'lab': {
      needPaths(args, 'lab');
      const ws = await staticWorkspace(args, 'text', false, opts);
      if (!ws) return 1;
      const { runLab } = await import('./lab.js');
      return runLab(ws, (zone) => secretsFor(zone, opts));
    }
    case 'import': {
      if (args.length || typeof opts.env !== 'string' || typeof opts.kind !== 'string') throw new UsageError('import needs --env DIR and --kind KIND');
      const ws = await staticWorkspace([opts.env], 'text', true, opts);
      if (!ws) return 1;
      if (ws.envs.length !== 1) throw new UsageError('import --env names exactly one environment folder');
      const { importUnmanaged } = await import('../engine/import.js');
      const r = await importUnmanaged(ws, opts.kind, secretsFor(ws.zone!, opts));
      for (const e of r.errors) process.stderr.write(`einklang: import: ${visible(e)}\n`);
      if (r.file) process.stdout.write(`wrote ${r.count} ${opts.kind} manifest(s) to ${r.file}\n`);
      else if (!r.errors.length) process.stdout.write(`nothing to import: every live ${opts.kind} is declared\n`);
      return r.errors.length ? 1 : 0;
    }
    case 'keygen':
    case 'approve':
    case 'unlock':
    case 'journal':
      return (await import('../engine/apply-checks.js')).governanceCommand(defaultCatalog(), command, args, opts);
    default:
      throw new UsageError(`unknown command ${JSON.stringify(command)}`);
  }
}
