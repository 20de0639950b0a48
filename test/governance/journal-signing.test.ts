/**
 * Issue 9 item 8 (unit level): signed journal entries, journalSigners,
 * --expect-head semantics, and the write-ahead append's durability details.
 */
import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { appendJournal, entryHash, GENESIS, journalPath, loadJournalKey, verifyJournal, type JournalKey } from '../../engine/governance/journal.js';
import { journalKeyFor } from '../../engine/governance/apply-journal.js';
import { keygen } from '../../engine/governance/approvals.js';
import { sign } from 'node:crypto';

describe('journal: signatures, journalSigners and the expected head', () => {
  let dir: string;
  let file: string;
  let ci: JournalKey;
  let mallory: JournalKey;
  const signers = () => [{ name: 'ci', publicKey: ci.publicKey }];
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'einklang-jsign-'));
    ci = loadJournalKey(keygen(join(dir, 'keys'), 'ci').keyFile);
    mallory = loadJournalKey(keygen(join(dir, 'keys'), 'mallory').keyFile);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));
  beforeEach(async () => {
    file = journalPath(mkdtempSync(join(dir, 'env-')));
    for (let i = 1; i <= 3; i++) await appendJournal(file, { event: 'start', planHash: `sha256:${i}`, approvers: ['anna', 'ben'] }, { key: ci });
  });
  const entries = () => readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  const write = (es: unknown[]) => writeFileSync(file, es.map((e) => JSON.stringify(e)).join('\n') + '\n');
  const problems = (opts = {}) => verifyJournal(file, { signers: signers(), ...opts }).problems.map((p) => `${p.line}: ${p.message}`);

  it('signs every entry; the signer is inside the hashed body', () => {
    const es = entries();
    assert.ok(es.every((e) => e.signer === ci.publicKey && typeof e.signature === 'string'));
    assert.equal(es[0].hash, entryHash(es[0]));
    const v = verifyJournal(file, { signers: signers() });
    assert.equal(v.ok, true, JSON.stringify(v.problems));
    assert.equal(v.signed, 3);
  });

  /**
   * The attack: every entry rewritten (other approvers), every hash and
   * prevHash recomputed, so the chain is valid again; signatures dropped,
   * kept from the original entries, or made with the attacker's own key.
   */
  function rewrite(signatures: 'drop' | 'keep' | JournalKey): void {
    let prev = GENESIS;
    write(
      entries().map((e) => {
        const { hash: _h, signature: oldSignature, signer: _k, ...body } = e;
        const out: any = { ...body, approvers: ['mallory', 'mallory2'], prevHash: prev };
        if (signatures === 'keep') out.signer = e.signer;
        if (typeof signatures === 'object') out.signer = signatures.publicKey;
        out.hash = entryHash(out);
        if (signatures === 'keep') out.signature = oldSignature;
        if (typeof signatures === 'object') out.signature = sign(null, Buffer.from(out.hash), signatures.key).toString('base64');
        prev = out.hash;
        return out;
      }),
    );
    assert.equal(verifyJournal(file).ok, signatures !== 'keep', 'the chain itself is valid again (kept signatures no longer match)');
  }

  it('a rewritten journal with recomputed hashes fails when signatures are required: signatures dropped', () => {
    rewrite('drop');
    assert.deepEqual(
      problems().map((p) => p.replace(/\(.*\)/, '()')),
      [1, 2, 3].map((l) => `${l}: unsigned entry, but the environment declares journalSigners (): written without --journal-key, or rewritten`),
    );
  });

  it('... signatures kept from the original entries', () => {
    rewrite('keep');
    assert.deepEqual(problems(), [1, 2, 3].map((l) => `${l}: signature does not verify: the entry was rewritten`));
  });

  it("... signed again with the attacker's own key", () => {
    rewrite(mallory);
    assert.deepEqual(
      problems().map((p) => p.replace(/signed by \S+,/, 'signed by KEY,')),
      [1, 2, 3].map((l) => `${l}: signed by KEY, which is not one of the environment's journalSigners`),
    );
  });

  it('an unsigned entry appended to a signed journal fails', async () => {
    await appendJournal(file, { event: 'end', planHash: 'sha256:3' });
    assert.deepEqual(problems().map((p) => p.split(':')[0]), ['4']);
  });

  it('--expect-head: a head seen earlier must still be in the chain; later entries are fine, a cut tail is not', async () => {
    const head = verifyJournal(file).head;
    assert.equal(verifyJournal(file, { expectedHead: head }).appendedSinceExpected, 0);
    await appendJournal(file, { event: 'end', planHash: 'sha256:3' }, { key: ci });
    const v = verifyJournal(file, { expectedHead: head, signers: signers() });
    assert.equal(v.ok, true);
    assert.equal(v.appendedSinceExpected, 1);
    const lines = readFileSync(file, 'utf8').trim().split('\n');
    writeFileSync(file, lines.slice(0, 2).join('\n') + '\n');
    assert.equal(verifyJournal(file, { signers: signers() }).ok, true, 'a shorter chain is a valid chain...');
    assert.match(problems({ expectedHead: head }).join('\n'), /^2: the expected head sha256:\w+ is not in the journal .*removed from the end/);
  });

  it('appends after a torn last line on a line of its own, reading only the tail', async () => {
    appendFileSync(file, '{"torn":');
    await appendJournal(file, { event: 'end', planHash: 'sha256:x' }, { key: ci });
    const lines = readFileSync(file, 'utf8').split('\n');
    assert.equal(lines[3], '{"torn":');
    assert.equal(JSON.parse(lines[4]).seq, 5);
    assert.deepEqual(verifyJournal(file).problems.map((p) => p.line), [4]);
  });

  it('an apply must sign when the environment declares journalSigners, with one of their keys', () => {
    const envs = [{ name: 'schule-a', dir, signers: signers() }, { name: 'schule-b', dir, signers: [] }];
    assert.match(journalKeyFor(envs, undefined).refusals.join(), /schule-a declares journalSigners \(ci\): apply needs --journal-key/);
    assert.match(journalKeyFor(envs, join(dir, 'keys/mallory.key')).refusals.join(), /is not one of the journalSigners of environment schule-a/);
    assert.match(journalKeyFor(envs, join(dir, 'keys/mallory.pub')).refusals.join(), /not a PEM private key/);
    const ok = journalKeyFor(envs, join(dir, 'keys/ci.key'));
    assert.deepEqual(ok.refusals, []);
    assert.equal(ok.key?.publicKey, ci.publicKey);
    assert.deepEqual(journalKeyFor([{ name: 'x', dir, signers: [] }], undefined), { key: undefined, refusals: [] });
  });
});
