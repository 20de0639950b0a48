/**
 * What an apply writes to the journal (journal.ts), and when. Write-ahead:
 *
 * - `start`, before the first change, in the journal of every environment of
 *   the plan: plan hash, author, approvers, emergency, environments, zone,
 *   the targets and the number of changes. Appends are fsync'd; if the start
 *   entry cannot be written, nothing is applied. An apply killed with -9
 *   after this point leaves a start entry without an end: the journal shows
 *   an apply that began and never finished.
 * - `target`, once per target as soon as all of its changes are done, in the
 *   journal of the target's environment: each change applied / failed (rolled
 *   back or not) / skipped, and the target's status (applied, failed,
 *   rolled back, skipped).
 * - `end`, once: counts, refusals, every failure (including those found when
 *   the targets were read again after applying), and the outcome: applied,
 *   failed, refused, or interrupted (SIGINT/SIGTERM).
 *
 * Signing: with `--journal-key`, every entry is signed. An environment that
 * declares `spec.journalSigners` requires it: apply refuses, before taking a
 * lock or touching a device, without a key or with a key not declared there.
 */
import type { Plan, Resource } from '../types.js';
import type { ApplyReport } from '../apply.js';
import { appendJournal, journalPath, loadJournalKey, type JournalKey, type JournalResult, type JournalSigner } from './journal.js';

export interface JournalEnvironment {
  name: string;
  /** The environment folder (its journal is `<dir>/.einklang/journal.jsonl`). */
  dir: string;
  signers: JournalSigner[];
}

/** `Environment.spec.journalSigners` of an Environment resource. */
export function journalSignersOf(environment: Resource | undefined): JournalSigner[] {
  const list = environment?.spec?.journalSigners;
  if (!Array.isArray(list)) return [];
  return list.filter((s) => s && typeof s.publicKey === 'string').map((s) => ({ name: typeof s.name === 'string' ? s.name : undefined, publicKey: s.publicKey.trim() }));
}

/**
 * The key that signs this apply's entries, or why the apply must not run:
 * an environment declares journalSigners and the key is missing or not one
 * of them, or the key file is unusable.
 */
export function journalKeyFor(envs: JournalEnvironment[], keyFile: string | undefined): { key?: JournalKey; refusals: string[] } {
  let key: JournalKey | undefined;
  if (keyFile !== undefined) {
    try {
      key = loadJournalKey(keyFile);
    } catch (e) {
      return { refusals: [(e as Error).message] };
    }
  }
  const refusals: string[] = [];
  for (const e of envs) {
    if (!e.signers.length) continue;
    const names = e.signers.map((s) => s.name ?? s.publicKey).join(', ');
    if (!key) refusals.push(`environment ${e.name} declares journalSigners (${names}): apply needs --journal-key with one of their keys, so that its journal entries are signed`);
    else if (!e.signers.some((s) => s.publicKey === key!.publicKey)) refusals.push(`the --journal-key (public key ${key.publicKey}) is not one of the journalSigners of environment ${e.name} (${names})`);
  }
  return { key: refusals.length ? undefined : key, refusals };
}

function targetStatus(results: JournalResult[]): string {
  const failed = results.filter((r) => r.status === 'failed');
  if (failed.length) return failed.every((r) => r.rolledBack) ? 'rolled back' : 'failed';
  if (results.every((r) => r.status === 'applied')) return 'applied';
  return results.some((r) => r.status === 'applied') ? 'partly applied' : 'skipped';
}

export class ApplyJournal {
  private ended = false;
  private readonly writeErrors: string[] = [];

  private constructor(
    private readonly files: Map<string, string>,
    private readonly key: JournalKey | undefined,
    private readonly planHash: string,
  ) {}

  /** Write the start entry to every environment's journal; throws if any cannot be written (then nothing may be applied). */
  static async start(envs: JournalEnvironment[], key: JournalKey | undefined, plan: Plan & { targets?: { address: string }[] }, meta: { approvers: string[]; emergency: boolean }): Promise<ApplyJournal> {
    const j = new ApplyJournal(new Map(envs.map((e) => [e.name, journalPath(e.dir)])), key, plan.hash);
    const entry = {
      event: 'start',
      planHash: plan.hash,
      author: plan.author,
      approvers: meta.approvers,
      emergency: meta.emergency,
      environments: plan.environments,
      zone: plan.zone,
      targets: (plan.targets ?? []).map((t) => t.address),
      changes: plan.changes.length,
    };
    for (const file of j.files.values()) await appendJournal(file, entry, { key });
    return j;
  }

  private async append(files: Iterable<string>, entry: Record<string, unknown>): Promise<void> {
    for (const file of files) {
      try {
        await appendJournal(file, { planHash: this.planHash, ...entry }, { key: this.key });
      } catch (e) {
        this.writeErrors.push(`${file}: ${(e as Error).message}`);
      }
    }
  }

  /** A target's changes are all done. Never throws: a failed write is reported by finish. */
  targetDone = async (target: string, results: JournalResult[]): Promise<void> => {
    const own = this.files.get(target.split('/')[0]);
    await this.append(own ? [own] : this.files.values(), { event: 'target', target, status: targetStatus(results), results });
  };

  /** The end entry (once). Returns the journal files that could not be written, if any. */
  async finish(report: ApplyReport): Promise<string[]> {
    const outcome = report.refused.length ? 'refused' : report.failed.length || report.skipped.length ? 'failed' : 'applied';
    await this.end({ outcome, applied: report.applied.length, failed: report.failed, skipped: report.skipped, refused: report.refused });
    return this.writeErrors;
  }

  /** The end entry of an apply stopped by a signal. */
  async interrupted(signal: string): Promise<void> {
    await this.end({ outcome: 'interrupted', signal });
  }

  private async end(entry: Record<string, unknown>): Promise<void> {
    if (this.ended) return;
    this.ended = true;
    await this.append(this.files.values(), { event: 'end', ...entry });
  }
}
