/**
 * The governance CLI verbs as plain functions; cli/ parses arguments, calls
 * one, prints `output` (one line per element) and exits with `exitCode`.
 * None throws for bad input.
 *
 *   einklang keygen --out DIR [--name NAME]     -> cmdKeygen({out, name})
 *   einklang approve PLAN --key KEY [--as NAME] -> cmdApprove(plan, key, {reviewer, reviewers})
 *   einklang unlock ENVDIR --id ID              -> cmdUnlock(envDir, id)
 *   einklang journal verify ENVDIR|FILE [--expect-head HASH] -> cmdJournalVerify(path, {expectedHead})
 *   einklang journal head ENVDIR                -> cmdJournalHead(path)
 */
import { createPrivateKey, createPublicKey } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { existsSync, realpathSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, relative, sep } from 'node:path';
import type { Plan, Resource } from '../types.js';
import { computePlanHash, keygen, publicKeyBase64, reviewerIsAuthor, signPlan } from './approvals.js';
import { journalPath, verifyJournal, type JournalSigner, type JournalVerification } from './journal.js';
import { journalSignersOf } from './apply-journal.js';
import { loadFile, loadText } from '../load.js';
import { resolveTrust } from '../trust.js';
import { gitTopLevel } from '../repository.js';
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
 *
 * With `requireDeclared`, a key of no Reviewer in `opts.reviewers` (the
 * trusted revision's) is refused, and so is the author's own key. `status`
 * tells, after signing, what the plan has and what it still misses (the same
 * count apply demands).
 */
export function cmdApprove(
  planFile: string,
  keyFile: string,
  opts: {
    reviewer?: string;
    reviewers?: Resource[];
    requireDeclared?: boolean;
    status?: (plan: Plan) => { ok: boolean; reasons: string[]; approvers: string[]; required: number };
  } = {},
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
    if (opts.requireDeclared && !declared) {
      return { exitCode: 1, output: [`error: the key ${pub.slice(0, 12)}... belongs to no Reviewer of the trusted revision; not signing (declare the Reviewer on the trusted branch first)`] };
    }
    const name = opts.reviewer ?? declared?.name ?? basename(keyFile).replace(/\.key$/, '');
    const approvals = Array.isArray(plan.approvals) ? plan.approvals : [];
    if (approvals.some((a) => a?.publicKey === pub)) {
      return { exitCode: 1, output: [`error: ${planFile} is already signed with this key`] };
    }
    if (declared && reviewerIsAuthor(declared, plan.author ?? null)) {
      return { exitCode: 1, output: [`error: ${declared.name} is the author of this plan (${plan.author}) and cannot approve it (four eyes)`] };
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
    const out = [`approved ${plan.hash} as ${name}`];
    if (opts.status) {
      const st = opts.status(plan);
      out.push(`approvals: ${st.approvers.length} valid of ${st.required} required${st.approvers.length ? ` (signed by ${st.approvers.join(', ')})` : ''}`);
      if (!st.ok) for (const r of st.reasons) out.push(`still missing: ${r}`);
    } else {
      const need = plan.approvalsRequired?.count;
      out.push(`${plan.approvals.length} approval(s) in the plan${need !== undefined ? `, ${need} required` : ''}`);
    }
    return { exitCode: 0, output: out };
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

/**
 * The journal file of an environment folder (or a journal file given
 * directly), and the journalSigners its environment declares: read from the
 * environment.yaml beside `.einklang/`. An environment.yaml that cannot be
 * read is a failure (its signers are unknown), never "no signers".
 */
function journalOf(path: string, trustedRef?: string): { file: string; signers: JournalSigner[]; problem?: string } {
  let file = path;
  let envDir: string | undefined;
  try {
    if (statSync(path).isDirectory()) {
      envDir = path;
      file = journalPath(path);
    }
  } catch {
    /* verifyJournal reports a missing file */
  }
  if (!envDir && basename(dirname(file)) === '.einklang') envDir = dirname(dirname(file));
  // The signers count as the trusted revision declares them (a rewritten environment.yaml cannot add a key).
  const trusted = envDir ? trustedEnvironmentText(envDir, trustedRef) : undefined;
  if (trusted) {
    const loaded = loadText(trusted.text, trusted.label, envDir!);
    const doc = loaded.documents.find((d) => (d.value as { kind?: unknown })?.kind === 'Environment');
    if (!doc || loaded.diagnostics.some((d) => d.severity === 'error')) return { file, signers: [], problem: `cannot read the journalSigners of ${trusted.label}` };
    return { file, signers: journalSignersOf({ spec: (doc.value as { spec?: unknown }).spec } as Resource) };
  }
  const envFile = envDir && join(envDir, 'environment.yaml');
  if (!envFile || !existsSync(envFile)) return { file, signers: [] };
  const loaded = loadFile(envFile);
  const doc = loaded.documents.find((d) => (d.value as { kind?: unknown })?.kind === 'Environment');
  if (!doc || loaded.diagnostics.some((d) => d.severity === 'error')) return { file, signers: [], problem: `cannot read the journalSigners of ${envFile}` };
  return { file, signers: journalSignersOf({ spec: (doc.value as { spec?: unknown }).spec } as Resource) };
}

/** environment.yaml of `envDir` as the trusted revision has it (git), or undefined outside git / when that revision lacks it. */
function trustedEnvironmentText(envDir: string, trustedRef?: string): { text: string; label: string } | undefined {
  const { trust } = resolveTrust(envDir, trustedRef);
  const top = gitTopLevel(envDir);
  if (trust.source !== 'git' || !trust.commit || !top) return undefined;
  const rel = relative(top, realpathSync(join(envDir, 'environment.yaml'))).split(sep).join('/');
  try {
    const text = execFileSync('git', ['show', `${trust.commit}:${rel}`], { cwd: top, stdio: ['ignore', 'pipe', 'ignore'], timeout: 10_000 }).toString('utf8');
    return { text, label: `${trust.ref}:${rel}` };
  } catch {
    return undefined;
  }
}

function journalProblems(file: string, r: JournalVerification): CommandResult {
  return { exitCode: 1, output: r.problems.map((p) => `${file}:${p.line}:1: error E_JOURNAL: ${p.message}`) };
}

/**
 * Verify the journal of an environment folder (or a journal file): the hash
 * chain, the signatures (required when the environment declares
 * journalSigners) and, with `expectedHead`, that a head seen earlier is still
 * in the chain (a cut-off tail is found).
 */
export function cmdJournalVerify(path: string, opts: { expectedHead?: string; trustedRef?: string } = {}): CommandResult {
  try {
    const { file, signers, problem } = journalOf(path, opts.trustedRef);
    if (problem) return { exitCode: 1, output: [`${file}:0:1: error E_JOURNAL: ${problem}`] };
    const r = verifyJournal(file, { ...opts, signers });
    if (!r.ok) return journalProblems(file, r);
    const signing = signers.length ? `every entry signed by a declared journalSigner` : r.signed ? `${r.signed} signed entries (no journalSigners declared)` : 'entries not signed (no journalSigners declared)';
    const expected = opts.expectedHead === undefined ? '' : r.appendedSinceExpected ? `; the expected head is still in the chain, ${r.appendedSinceExpected} entries appended since` : '; the expected head is the head';
    return { exitCode: 0, output: [`${file}: ${r.entries} entries, chain intact, ${signing}, head ${r.head}${expected}`] };
  } catch (e) {
    return { exitCode: 1, output: [`error: ${msg(e)}`] };
  }
}

/** Print the head hash of an environment's journal (after verifying it: a broken journal has no head to trust). */
export function cmdJournalHead(path: string, opts: { trustedRef?: string } = {}): CommandResult {
  try {
    const { file, signers, problem } = journalOf(path, opts.trustedRef);
    if (problem) return { exitCode: 1, output: [`${file}:0:1: error E_JOURNAL: ${problem}`] };
    const r = verifyJournal(file, { signers });
    return r.ok ? { exitCode: 0, output: [r.head] } : journalProblems(file, r);
  } catch (e) {
    return { exitCode: 1, output: [`error: ${msg(e)}`] };
  }
}
