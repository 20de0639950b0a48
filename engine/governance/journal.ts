/**
 * The audit journal: one JSON line per apply, hash-chained.
 *
 * Location: `<environment folder>/.einklang/journal.jsonl` (journalPath); an
 * apply that covers several environments appends to each one's journal.
 *
 * Each entry: {seq, time, author, approvers, planHash, emergency, results[],
 * prevHash, hash, ...extra}. `hash` = sha256 over the canonical JSON of the
 * entry without `hash`; `prevHash` = the previous entry's hash (GENESIS for
 * the first); `seq` counts from 1. verifyJournal therefore detects an edited
 * entry (its hash), an inserted, removed or reordered one (seq and prevHash of
 * the following line) and reports the line number. Removing entries from the
 * END of the file leaves a valid shorter chain; to catch that, compare the
 * head (last hash) with one kept elsewhere (CI artifact, git commit message):
 * `verifyJournal(file, {expectedHead})`.
 *
 * Appends take a short lock (`journal.jsonl.lock`) so that concurrent
 * appends never fork the chain.
 */
import { existsSync, promises as fs, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { canonicalJson, sha256 } from '../hash.js';
import { withLockFile } from './locks.js';

export const GENESIS = 'sha256:' + '0'.repeat(64);

export interface JournalResult {
  /** Change address. */
  address: string;
  actions?: string[];
  status: 'applied' | 'failed' | 'skipped';
  message?: string;
}

export interface JournalInput {
  /** ISO time; default now. */
  time?: string;
  author: string | null;
  /** Reviewer names whose approvals counted. */
  approvers: string[];
  planHash: string;
  emergency: boolean;
  results: JournalResult[];
  /** Anything else worth keeping (environments, zone, engineVersion); must be JSON. */
  [extra: string]: unknown;
}

export interface JournalEntry extends JournalInput {
  seq: number;
  time: string;
  prevHash: string;
  hash: string;
}

export function journalPath(envDir: string): string {
  return join(envDir, '.einklang', 'journal.jsonl');
}

export function entryHash(entry: Omit<JournalEntry, 'hash'> | Record<string, unknown>): string {
  const { hash: _h, ...rest } = entry as Record<string, unknown>;
  return 'sha256:' + sha256(canonicalJson(rest));
}

function lastLine(text: string): string | null {
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  return lines.length ? lines[lines.length - 1] : null;
}

/** Append one entry (under the journal's append lock); returns it with seq, prevHash and hash. */
export async function appendJournal(file: string, input: JournalInput): Promise<JournalEntry> {
  await fs.mkdir(dirname(file), { recursive: true });
  return withLockFile(`${file}.lock`, { holder: String(input.author ?? 'einklang'), wait: true, timeoutMs: 60_000, pollMs: 50 }, async () => {
    let text = '';
    try {
      text = await fs.readFile(file, 'utf8');
    } catch (e: any) {
      if (e?.code !== 'ENOENT') throw e;
    }
    let seq = 1;
    let prevHash = GENESIS;
    const last = lastLine(text);
    if (last !== null) {
      try {
        const prev = JSON.parse(last);
        seq = Number.isInteger(prev.seq) ? prev.seq + 1 : text.split('\n').filter((l) => l.trim()).length + 1;
        prevHash = typeof prev.hash === 'string' ? prev.hash : 'sha256:' + sha256(last);
      } catch {
        // A damaged last line: chain to its raw text; verify will report the damage.
        seq = text.split('\n').filter((l) => l.trim()).length + 1;
        prevHash = 'sha256:' + sha256(last);
      }
    }
    const { hash: _h, seq: _s, prevHash: _p, ...clean } = input as Record<string, unknown>;
    const body = { ...clean, seq, time: input.time ?? new Date().toISOString(), prevHash } as Omit<JournalEntry, 'hash'>;
    const entry = { ...body, hash: entryHash(body) } as JournalEntry;
    const prefix = text !== '' && !text.endsWith('\n') ? '\n' : '';
    const fh = await fs.open(file, 'a', 0o644);
    try {
      await fh.writeFile(prefix + JSON.stringify(entry) + '\n', 'utf8');
      await fh.sync();
    } finally {
      await fh.close();
    }
    return entry;
  });
}

export interface JournalProblem {
  /** 1-based line number. */
  line: number;
  message: string;
}

export interface JournalVerification {
  ok: boolean;
  entries: number;
  /** Hash of the last entry (GENESIS for an empty journal). */
  head: string;
  problems: JournalProblem[];
}

/** Check every entry's hash and the chain; report problems by line. */
export function verifyJournal(file: string, opts: { expectedHead?: string } = {}): JournalVerification {
  const problems: JournalProblem[] = [];
  if (!existsSync(file)) {
    return { ok: false, entries: 0, head: GENESIS, problems: [{ line: 0, message: `${file} does not exist` }] };
  }
  const lines = readFileSync(file, 'utf8').split('\n');
  while (lines.length && lines[lines.length - 1].trim() === '') lines.pop();
  let prevHash = GENESIS;
  let prevSeq = 0;
  let entries = 0;
  lines.forEach((raw, i) => {
    const line = i + 1;
    if (raw.trim() === '') {
      problems.push({ line, message: 'empty line inside the journal (an entry was removed?)' });
      return;
    }
    let e: any;
    try {
      e = JSON.parse(raw);
    } catch {
      problems.push({ line, message: 'not valid JSON (the entry was edited or truncated)' });
      prevHash = 'sha256:' + sha256(raw);
      prevSeq++;
      return;
    }
    if (!e || typeof e !== 'object' || Array.isArray(e)) {
      problems.push({ line, message: 'not a journal entry' });
      prevSeq++;
      return;
    }
    entries++;
    if (e.hash !== entryHash(e)) problems.push({ line, message: 'hash does not match the entry: the entry was edited' });
    if (e.seq !== prevSeq + 1) {
      problems.push({ line, message: `seq ${e.seq} where ${prevSeq + 1} was expected: an entry was removed, inserted or reordered` });
    }
    if (e.prevHash !== prevHash) {
      problems.push({
        line,
        message: `prevHash does not match the ${line === 1 ? 'start of the journal' : `entry on line ${line - 1}`}: an entry was removed, inserted, reordered or edited`,
      });
    }
    prevHash = typeof e.hash === 'string' ? e.hash : 'sha256:' + sha256(raw);
    prevSeq = typeof e.seq === 'number' ? e.seq : prevSeq + 1;
  });
  if (opts.expectedHead && opts.expectedHead !== prevHash) {
    problems.push({ line: lines.length, message: `last entry's hash ${prevHash} is not the expected head ${opts.expectedHead}: entries were removed from the end or added` });
  }
  return { ok: problems.length === 0, entries, head: prevHash, problems };
}
