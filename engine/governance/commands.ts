/**
 * The governance CLI verbs as plain functions; cli/ parses arguments, calls
 * one, prints `output` (one line per element) and exits with `exitCode`.
 * None throws for bad input.
 *
 *   einklang keygen --out DIR [--name NAME]     -> cmdKeygen({out, name})
 *   einklang approve PLAN --key KEY [--as NAME] -> cmdApprove(plan, key, {reviewer, reviewers})
 *   einklang unlock ENVDIR --id ID              -> cmdUnlock(envDir, id)
 *   einklang journal verify FILE|ENVDIR         -> cmdJournalVerify(path, {expectedHead})
 */
import { createPrivateKey, createPublicKey } from 'node:crypto';
import { renameSync, statSync, writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import type { Plan, Resource } from '../types.js';
import { computePlanHash, keygen, publicKeyBase64, signPlan } from './approvals.js';
import { journalPath, verifyJournal } from './journal.js';
import { envLockStore } from './locks.js';
import { MAX_KEY_FILE_BYTES, readRegularFile } from '../local-files.js';
import { MAX_PLAN_FILE_BYTES } from '../plan-file.js';

export interface CommandResult {
  exitCode: number;
  output: string[];
}

function msg(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

export function cmdKeygen(args: { out: string; name?: string }): CommandResult {
  try {
    const r = keygen(args.out, args.name ?? 'reviewer');
    return {
      exitCode: 0,
      output: [
        `wrote ${r.keyFile} (private key, mode 0600: keep it secret, never commit it)`,
        `wrote ${r.pubFile}`,
        'declare the reviewer in the repository:',
        '  apiVersion: einklang/v1',
        '  kind: Reviewer',
        `  metadata: { name: ${args.name ?? 'reviewer'} }`,
        `  spec: { publicKey: "${r.publicKey}", groups: [], email: "" }`,
      ],
    };
  } catch (e) {
    return { exitCode: 1, output: [`error: ${msg(e)}`] };
  }
}

/**
 * Add the key holder's signature to the plan file (rewritten atomically).
 * Reviewer name: `opts.reviewer`, else the Reviewer in `opts.reviewers` with
 * this public key, else the key file's name without `.key`.
 */
export function cmdApprove(
  planFile: string,
  keyFile: string,
  opts: { reviewer?: string; reviewers?: Resource[] } = {},
): CommandResult {
  let plan: Plan;
  let keyPem: string;
  try {
    plan = JSON.parse(readRegularFile(planFile, MAX_PLAN_FILE_BYTES).toString('utf8'));
  } catch (e) {
    return { exitCode: 1, output: [`error: cannot read plan ${planFile}: ${msg(e)}`] };
  }
  try {
    keyPem = readRegularFile(keyFile, MAX_KEY_FILE_BYTES).toString('utf8');
  } catch (e) {
    return { exitCode: 1, output: [`error: cannot read key ${keyFile}: ${msg(e)}`] };
  }
  try {
    if (!plan || typeof plan !== 'object' || typeof plan.hash !== 'string') throw new Error(`${planFile} is not a plan`);
    if (computePlanHash(plan) !== plan.hash) throw new Error('plan hash does not match its content (the plan was modified); not signing');
    const pub = publicKeyBase64(createPublicKey(createPrivateKey(keyPem)));
    const declared = (opts.reviewers ?? []).find((r) => r.kind === 'Reviewer' && String(r.spec?.publicKey ?? '').trim() === pub);
    const name = opts.reviewer ?? declared?.name ?? basename(keyFile).replace(/\.key$/, '');
    const approvals = Array.isArray(plan.approvals) ? plan.approvals : [];
    if (approvals.some((a) => a?.publicKey === pub)) {
      return { exitCode: 1, output: [`error: ${planFile} is already signed with this key`] };
    }
    const author = (plan.author ?? '').trim().toLowerCase();
    if (declared && author) {
      const ids = [declared.name, declared.spec?.email, ...(declared.spec?.logins ?? [])].map((x) => String(x ?? '').toLowerCase());
      if (ids.includes(author)) {
        return { exitCode: 1, output: [`error: ${name} is the author of this plan and cannot approve it (four eyes)`] };
      }
    }
    const approval = signPlan(plan, keyPem, name);
    plan.approvals = [...approvals, approval];
    const tmp = `${planFile}.${process.pid}.tmp`;
    let mode = 0o644;
    try {
      mode = statSync(planFile).mode & 0o777;
    } catch {
      /* keep default */
    }
    writeFileSync(tmp, JSON.stringify(plan, null, 2) + '\n', { mode });
    renameSync(tmp, planFile);
    const need = plan.approvalsRequired?.count;
    return {
      exitCode: 0,
      output: [`approved ${plan.hash} as ${name}; ${plan.approvals.length} approval(s) in the plan${need !== undefined ? `, ${need} required` : ''}`],
    };
  } catch (e) {
    return { exitCode: 1, output: [`error: ${msg(e)}`] };
  }
}

export async function cmdUnlock(envDir: string, id: string): Promise<CommandResult> {
  if (!id) return { exitCode: 1, output: ['error: --id is required (shown by the refused apply, or in the lock file)'] };
  try {
    const { store, env } = envLockStore(envDir);
    const broken = await store.break(env, id);
    return { exitCode: 0, output: [`unlocked ${env} (was held by ${broken.holder} since ${broken.since || 'unknown'}, id ${broken.id})`] };
  } catch (e) {
    return { exitCode: 1, output: [`error: ${msg(e)}`] };
  }
}

/** Verify a journal file, or the journal of an environment folder. */
export function cmdJournalVerify(path: string, opts: { expectedHead?: string } = {}): CommandResult {
  try {
    let file = path;
    try {
      if (statSync(path).isDirectory()) file = journalPath(path);
    } catch {
      /* verifyJournal reports a missing file */
    }
    const r = verifyJournal(file, opts);
    if (r.ok) return { exitCode: 0, output: [`${file}: ${r.entries} entries, chain intact, head ${r.head}`] };
    return {
      exitCode: 1,
      output: r.problems.map((p) => `${file}:${p.line}:1: error E_JOURNAL: ${p.message}`),
    };
  } catch (e) {
    return { exitCode: 1, output: [`error: ${msg(e)}`] };
  }
}
