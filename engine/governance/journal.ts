/**
 * The audit journal: one JSON line per event, hash-chained, optionally signed.
 *
 * Location: `<environment folder>/.einklang/journal.jsonl` (journalPath); an
 * apply that covers several environments writes to each one's journal
 * (apply-journal.ts says which events an apply writes, and when).
 *
 * Each entry: {seq, time, ...what happened, prevHash, signer?, hash,
 * signature?}. `hash` = sha256 over the canonical JSON of the entry without
 * `hash` and `signature`; `prevHash` = the previous entry's hash (GENESIS for
 * the first); `seq` counts from 1. verifyJournal therefore detects an edited
 * entry (its hash), an inserted, removed or reordered one (seq and prevHash
 * of the following line) and reports the line number.
 *
 * Two things a hash chain alone cannot detect, and what catches them:
 * - Entries removed from the END leave a valid shorter chain. `journal head`
 *   prints the last hash; keep it elsewhere (CI artifact, commit message) and
 *   check later with `journal verify --expect-head HASH`: that hash must
 *   still be an entry of the chain (entries appended since are fine).
 * - Anyone can rewrite every entry and recompute every hash. Against that,
 *   entries are signed: with `--journal-key FILE` (an Ed25519 PKCS#8 key as
 *   `einklang keygen` writes it) each entry carries `signer` (the raw public
 *   key, base64, inside the hashed body) and `signature` (Ed25519 over the
 *   `hash` string). When the environment declares
 *   `spec.journalSigners: [{name, publicKey}]`, every entry must be signed
 *   by one of them: an unsigned entry, a signature that does not verify, or a
 *   key not declared is a problem of that line.
 *
 * Appends take a short lock (`journal.jsonl.lock`) so that concurrent
 * appends never fork the chain, read only the file's tail to find the last
 * entry, and are fsync'd (the file, and its folder when the file is new)
 * before they return: an entry that was appended survives a crash.
 */
import { closeSync, existsSync, fstatSync, openSync, promises as fs, readSync } from 'node:fs';
import { createPrivateKey, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import { dirname, join } from 'node:path';
import { canonicalJson, sha256 } from '../hash.js';
import { withLockFile } from './locks.js';
import { parsePublicKey, publicKeyBase64 } from './approvals.js';
import { MAX_KEY_FILE_BYTES, readRegularFile } from '../local-files.js';

export const GENESIS = 'sha256:' + '0'.repeat(64);

export interface JournalResult {
  /** Change address. */
  address: string;
  actions?: string[];
  status: 'applied' | 'failed' | 'skipped';
  message?: string;
  rolledBack?: boolean;
}

export interface JournalInput {
  /** ISO time; default now. */
  time?: string;
  planHash: string;
  /** start | target | end (apply-journal.ts); entries of older versions have none. */
  event?: string;
  /** Anything else worth keeping (author, approvers, results, ...); must be JSON. */
  [extra: string]: unknown;
}

export interface JournalEntry extends JournalInput {
  seq: number;
  time: string;
  prevHash: string;
  /** Base64 raw Ed25519 public key of the key that signed the entry. */
  signer?: string;
  hash: string;
  signature?: string;
}

/** A key that signs journal entries (`--journal-key`). */
export interface JournalKey {
  key: KeyObject;
  /** Base64 raw public key (the form of journalSigners[].publicKey). */
  publicKey: string;
}

/** Who may sign an environment's journal (`Environment.spec.journalSigners`). */
export interface JournalSigner {
  name?: string;
  publicKey: string;
}

export function journalPath(envDir: string): string {
  return join(envDir, '.einklang', 'journal.jsonl');
}

/** Load a journal signing key: an Ed25519 private key in PKCS#8 PEM (the NAME.key of `einklang keygen`). */
export function loadJournalKey(file: string): JournalKey {
  let pem: string;
  try {
    pem = readRegularFile(file, MAX_KEY_FILE_BYTES).toString('utf8');
  } catch (e) {
    throw new Error(`cannot read journal key ${file}: ${(e as Error).message}`);
  }
  let key: KeyObject;
  try {
    key = createPrivateKey(pem);
  } catch {
    throw new Error(`journal key ${file} is not a PEM private key (use a NAME.key written by einklang keygen)`);
  }
  if (key.asymmetricKeyType !== 'ed25519') throw new Error(`journal key ${file} is ${key.asymmetricKeyType}, expected ed25519`);
  return { key, publicKey: publicKeyBase64(createPublicKey(key)) };
}

export function entryHash(entry: Omit<JournalEntry, 'hash'> | Record<string, unknown>): string {
  const { hash: _h, signature: _s, ...rest } = entry as Record<string, unknown>;
  return 'sha256:' + sha256(canonicalJson(rest));
}

/**
 * The last non-empty line of a file, reading only as much of its end as that
 * line needs, and whether the file lacks a final newline (a torn last write).
 */
function tail(file: string): { last: string | null; unterminated: boolean } {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (e: any) {
    if (e?.code === 'ENOENT') return { last: null, unterminated: false };
    throw e;
  }
  try {
    const size = fstatSync(fd).size;
    let chunk = 64 * 1024;
    for (;;) {
      const start = Math.max(0, size - chunk);
      const buf = Buffer.alloc(size - start);
      readSync(fd, buf, 0, buf.length, start);
      const unterminated = buf.length > 0 && buf[buf.length - 1] !== 0x0a;
      const text = buf.toString('utf8').replace(/\s+$/, '');
      const nl = text.lastIndexOf('\n');
      if (nl >= 0 || start === 0) return { last: text.slice(nl + 1) || null, unterminated };
      chunk *= 4; // one long line: read further back
    }
  } finally {
    closeSync(fd);
  }
}

/** Where the next entry chains to, from the last line (a damaged one chains to its raw text; verify reports it). */
function chainAfter(last: string | null, lineCount: () => number): { seq: number; prevHash: string } {
  if (last === null) return { seq: 1, prevHash: GENESIS };
  try {
    const prev = JSON.parse(last);
    return {
      seq: Number.isInteger(prev?.seq) ? prev.seq + 1 : lineCount() + 1,
      prevHash: typeof prev?.hash === 'string' ? prev.hash : 'sha256:' + sha256(last),
    };
  } catch {
    return { seq: lineCount() + 1, prevHash: 'sha256:' + sha256(last) };
  }
}

/** Append one entry (under the journal's append lock, fsync'd); returns it with seq, prevHash, hash and signature. */
export async function appendJournal(file: string, input: JournalInput, opts: { key?: JournalKey } = {}): Promise<JournalEntry> {
  const dir = dirname(file);
  await fs.mkdir(dir, { recursive: true });
  return withLockFile(`${file}.lock`, { holder: String(input.author ?? 'einklang'), wait: true, timeoutMs: 60_000, pollMs: 50 }, async () => {
    const isNew = !existsSync(file);
    const { last, unterminated } = tail(file);
    const { seq, prevHash } = chainAfter(last, () => [...journalLines(file)].length);
    const { hash: _h, seq: _s, prevHash: _p, signer: _k, signature: _g, ...clean } = input as Record<string, unknown>;
    const body = { ...clean, seq, time: input.time ?? new Date().toISOString(), prevHash, ...(opts.key ? { signer: opts.key.publicKey } : {}) } as Omit<JournalEntry, 'hash'>;
    const hash = entryHash(body);
    const entry = { ...body, hash, ...(opts.key ? { signature: sign(null, Buffer.from(hash, 'utf8'), opts.key.key).toString('base64') } : {}) } as JournalEntry;
    const fh = await fs.open(file, 'a', 0o644);
    try {
      await fh.writeFile((unterminated ? '\n' : '') + JSON.stringify(entry) + '\n', 'utf8');
      await fh.sync();
    } finally {
      await fh.close();
    }
    if (isNew) await syncFolder(dir); // the new file's name is durable too
    return entry;
  });
}

async function syncFolder(dir: string): Promise<void> {
  const d = await fs.open(dir, 'r');
  try {
    await d.sync();
  } finally {
    await d.close();
  }
}

/** The lines of a journal file (without line ends), read in blocks: a journal of years is never held in memory at once. */
function* journalLines(file: string): Generator<string> {
  const fd = openSync(file, 'r');
  try {
    const buf = Buffer.alloc(1024 * 1024);
    let rest: Buffer = Buffer.alloc(0);
    for (;;) {
      const n = readSync(fd, buf, 0, buf.length, null);
      if (n === 0) break;
      let data = Buffer.concat([rest, buf.subarray(0, n)]);
      let nl: number;
      while ((nl = data.indexOf(0x0a)) >= 0) {
        yield data.subarray(0, nl).toString('utf8');
        data = data.subarray(nl + 1);
      }
      rest = Buffer.from(data);
    }
    if (rest.length) yield rest.toString('utf8');
  } finally {
    closeSync(fd);
  }
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
  /** With expectedHead: how many entries follow the expected head (0 = it is the head). */
  appendedSinceExpected?: number;
  /** Entries that carry a signature that verifies. */
  signed: number;
}

function signatureProblem(e: any, signers: JournalSigner[] | undefined): string | null {
  const declared = signers && signers.length > 0;
  if (e.signature === undefined) {
    return declared ? `unsigned entry, but the environment declares journalSigners (${signers!.map((s) => s.name ?? s.publicKey).join(', ')}): written without --journal-key, or rewritten` : null;
  }
  const key = parsePublicKey(e.signer);
  if (!key || typeof e.signature !== 'string' || typeof e.hash !== 'string') return 'signature or signer is malformed';
  let good = false;
  try {
    good = verify(null, Buffer.from(e.hash, 'utf8'), key, Buffer.from(e.signature, 'base64'));
  } catch {
    good = false;
  }
  if (!good) return 'signature does not verify: the entry was rewritten';
  if (declared && !signers!.some((s) => String(s.publicKey).trim() === e.signer)) return `signed by ${e.signer}, which is not one of the environment's journalSigners`;
  return null;
}

/**
 * Check every entry's hash, signature and the chain; report problems by line.
 * `signers`: the environment's journalSigners (every entry must be signed by
 * one of them when there are any). `expectedHead`: a head seen earlier,
 * which must still be an entry of the chain.
 */
export function verifyJournal(file: string, opts: { expectedHead?: string; signers?: JournalSigner[] } = {}): JournalVerification {
  const problems: JournalProblem[] = [];
  if (!existsSync(file)) {
    return { ok: false, entries: 0, head: GENESIS, problems: [{ line: 0, message: `${file} does not exist` }], signed: 0 };
  }
  let prevHash = GENESIS;
  let prevSeq = 0;
  let entries = 0;
  let signed = 0;
  let line = 0;
  let blank = 0; // empty lines not yet known to be trailing
  let expectedAt = -1;
  for (const raw of journalLines(file)) {
    line++;
    if (raw.trim() === '') {
      blank++;
      continue;
    }
    for (; blank > 0; blank--) problems.push({ line: line - blank, message: 'empty line inside the journal (an entry was removed?)' });
    let e: any;
    try {
      e = JSON.parse(raw);
    } catch {
      problems.push({ line, message: 'not valid JSON (the entry was edited or truncated)' });
      prevHash = 'sha256:' + sha256(raw);
      prevSeq++;
      continue;
    }
    if (!e || typeof e !== 'object' || Array.isArray(e)) {
      problems.push({ line, message: 'not a journal entry' });
      prevSeq++;
      continue;
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
    const sig = signatureProblem(e, opts.signers);
    if (sig) problems.push({ line, message: sig });
    else if (e.signature !== undefined) signed++;
    prevHash = typeof e.hash === 'string' ? e.hash : 'sha256:' + sha256(raw);
    prevSeq = typeof e.seq === 'number' ? e.seq : prevSeq + 1;
    if (opts.expectedHead !== undefined && e.hash === opts.expectedHead) expectedAt = entries;
  }
  let appendedSinceExpected: number | undefined;
  if (opts.expectedHead !== undefined) {
    if (expectedAt < 0 && opts.expectedHead !== GENESIS) {
      problems.push({ line: line - blank, message: `the expected head ${opts.expectedHead} is not in the journal (head is ${prevHash}): entries were removed from the end, or the journal was rewritten` });
    } else appendedSinceExpected = entries - Math.max(expectedAt, 0);
  }
  return { ok: problems.length === 0, entries, head: prevHash, problems, appendedSinceExpected, signed };
}
