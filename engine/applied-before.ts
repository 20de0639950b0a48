/**
 * Has this plan been applied already? `apply` asks before its checks, so that
 * applying a plan a second time (a CI job retried, a command run twice) says
 * so in one line instead of reporting every change as stale.
 *
 * The answer comes from the environments' audit journals
 * (`<env>/.einklang/journal.jsonl`, written by governance/apply-journal.ts):
 * an `end` entry with the plan's hash and the outcome `applied`. A journal is
 * only believed when it verifies (hash chain, and the signatures its
 * environment's journalSigners require: the same check as `einklang journal
 * verify`); otherwise apply goes on as if there were no entry and its own
 * checks decide. The plan's own hash is checked first, so an edited plan can
 * never borrow the entry of the plan it was made from.
 */
import { createReadStream, existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import type { Plan } from './types.js';
import { discoverEnvironments } from './discover.js';
import { computePlanHash } from './plan-file.js';
import { journalPath } from './governance/journal.js';
import { cmdJournalVerify } from './governance/commands.js';

export interface AppliedEntry {
  /** The journal file (as found from the plan's paths). */
  file: string;
  /** 1-based line of the entry. */
  line: number;
  seq: number;
  time: string;
  hash: string;
}

/** The journal's `end` entry of a complete apply of `planHash`, if any (the last one). */
async function endEntry(file: string, planHash: string): Promise<AppliedEntry | undefined> {
  const lines = createInterface({ input: createReadStream(file, { encoding: 'utf8' }), crlfDelay: Infinity });
  let found: AppliedEntry | undefined;
  let line = 0;
  for await (const text of lines) {
    line++;
    if (!text.includes(planHash)) continue; // most lines are other plans': no need to parse them
    try {
      const e = JSON.parse(text);
      if (e?.planHash === planHash && e.event === 'end' && e.outcome === 'applied') found = { file, line, seq: e.seq, time: e.time, hash: e.hash };
    } catch {
      /* a damaged line: verification has already refused such a journal */
    }
  }
  return found;
}

/** The journal entry that shows this plan was applied, or undefined (never applied, edited plan, or a journal that does not verify). */
export async function appliedBefore(plan: Plan): Promise<AppliedEntry | undefined> {
  let intact = false;
  try {
    intact = typeof plan.hash === 'string' && computePlanHash(plan) === plan.hash;
  } catch {
    intact = false;
  }
  if (!intact) return undefined;
  const { envs } = discoverEnvironments(plan.source?.paths ?? []);
  for (const env of envs) {
    const file = journalPath(env.dir);
    if (!existsSync(file) || cmdJournalVerify(env.dir).exitCode !== 0) continue;
    const entry = await endEntry(file, plan.hash);
    if (entry) return entry;
  }
  return undefined;
}
