/**
 * Issue 9 item 8 through the real CLI against the lab's Linux host: the
 * journal is written ahead (start before the first change, one entry per
 * target, one at the end); a kill -9 mid-apply leaves the start entry;
 * `journal head` / `journal verify --expect-head` find a cut-off tail; with
 * `Environment.spec.journalSigners`, apply must sign (`--journal-key`) and a
 * rewritten journal fails verification.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { sign } from 'node:crypto';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { keygen } from '../../engine/governance/approvals.js';
import { entryHash, GENESIS, loadJournalKey } from '../../engine/governance/journal.js';
import { CLI, runCli } from '../support/cli.js';
import { startLabServer, type LabServer } from '../support/lab-server.js';

const FILES = ['a', 'b', 'c', 'd']
  .map((n) => `apiVersion: einklang/v1\nkind: File\nmetadata: { name: ${n} }\nspec: { server: server, path: /srv/${n}.txt, content: "${n}\\n" }\n`)
  .join('---\n');

describe('journal through the CLI', function () {
  this.timeout(90_000);
  let lab: LabServer;
  const journal = () => join(lab.env, '.einklang/journal.jsonl');
  const entries = () => readFileSync(journal(), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  const cli = (args: string[], env?: NodeJS.ProcessEnv) => runCli(args, { cwd: lab.root, env });

  afterEach(async () => {
    await lab?.sim.stop();
    if (lab) rmSync(lab.root, { recursive: true, force: true });
  });

  it('writes start (before the first change), one entry per target and end; head and --expect-head find a cut-off tail', async () => {
    lab = await startLabServer({ manifests: FILES });
    assert.equal((await cli(['plan', lab.env, '--out', lab.planFile], { EINKLANG_AUTHOR: 'anna@schule.invalid' })).code, 2);
    const apply = await cli(['apply', lab.planFile]);
    assert.equal(apply.code, 0, apply.stderr);
    const es = entries();
    assert.deepEqual(es.map((e) => e.event), ['start', 'target', 'end']);
    const plan = JSON.parse(readFileSync(lab.planFile, 'utf8'));
    assert.ok(es.every((e) => e.planHash === plan.hash));
    assert.equal(es[0].author, 'anna@schule.invalid');
    assert.deepEqual(es[0].approvers, []);
    assert.deepEqual(es[0].targets, ['schule-a/Server/server']);
    assert.equal(es[1].target, 'schule-a/Server/server');
    assert.equal(es[1].status, 'applied');
    assert.deepEqual(es[1].results.map((r: { status: string }) => r.status), ['applied', 'applied', 'applied', 'applied']);
    assert.equal(es[2].outcome, 'applied');

    const head = await cli(['journal', 'head', lab.env]);
    assert.equal(head.code, 0, head.stderr);
    assert.equal(head.stdout.trim(), es[2].hash);
    const ok = await cli(['journal', 'verify', lab.env, '--expect-head', es[2].hash]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /3 entries, chain intact, entries not signed .*; the expected head is the head/);

    // an earlier head stays valid as the journal grows
    assert.equal((await cli(['journal', 'verify', lab.env, '--expect-head', es[1].hash])).code, 0);
    // the last line removed: a valid shorter chain, but the head kept elsewhere is gone
    writeFileSync(journal(), readFileSync(journal(), 'utf8').trim().split('\n').slice(0, 2).join('\n') + '\n');
    assert.equal((await cli(['journal', 'verify', lab.env])).code, 0);
    const cut = await cli(['journal', 'verify', lab.env, '--expect-head', es[2].hash]);
    assert.equal(cut.code, 1);
    assert.match(cut.stderr, /journal\.jsonl:2:1: error E_JOURNAL: the expected head sha256:\w+ is not in the journal .*removed from the end/);
  });

  it('records a failed target and the outcome', async () => {
    lab = await startLabServer({ manifests: FILES });
    assert.equal((await cli(['plan', lab.env, '--out', lab.planFile])).code, 2);
    lab.sim.model.faults.failOps = ['file-commit'];
    assert.equal((await cli(['apply', lab.planFile])).code, 1);
    const es = entries();
    assert.deepEqual(es.map((e) => e.event), ['start', 'target', 'end']);
    assert.equal(es[1].status, 'failed');
    assert.ok(es[1].results.every((r: { status: string; message?: string }) => r.status === 'failed' && /injected fault/.test(r.message ?? '')));
    assert.equal(es[2].outcome, 'failed');
    assert.equal(es[2].failed.length, 4);
  });

  it('a kill -9 during apply leaves the start entry, written before the first change', async () => {
    lab = await startLabServer({ manifests: FILES });
    assert.equal((await cli(['plan', lab.env, '--out', lab.planFile])).code, 2);
    lab.sim.model.faults.latencyMs = 400; // each request slow: the apply is mid-way for seconds
    const child = spawn(process.execPath, [CLI, 'apply', lab.planFile], { cwd: lab.root, env: { ...process.env, CI: 'true' }, stdio: 'ignore' });
    const exited = new Promise<void>((r) => child.on('close', () => r()));
    for (let i = 0; i < 600 && !lab.sim.model.journal.some((op) => op.startsWith('file-commit')); i++) await new Promise((r) => setTimeout(r, 25));
    assert.ok(lab.sim.model.journal.some((op) => op.startsWith('file-commit')), 'a change reached the host');
    assert.ok(existsSync(journal()), 'the journal existed before that change');
    child.kill('SIGKILL');
    await exited;
    const es = entries();
    assert.deepEqual(es.map((e) => e.event), ['start'], 'killed: a start without an end');
    assert.equal(es[0].planHash, JSON.parse(readFileSync(lab.planFile, 'utf8')).hash);
    assert.equal((await cli(['journal', 'verify', lab.env])).code, 0, 'the chain is intact');
  });

  it('with journalSigners: apply must sign, and a journal rewritten with recomputed hashes fails verification', async () => {
    lab = await startLabServer({ manifests: FILES });
    const keys = join(lab.root, 'journal-keys');
    const ci = keygen(keys, 'ci');
    const mallory = keygen(keys, 'mallory');
    const envFile = join(lab.env, 'environment.yaml');
    writeFileSync(envFile, readFileSync(envFile, 'utf8').replace('zone: school', `zone: school, journalSigners: [ { name: ci, publicKey: "${ci.publicKey}" } ]`));
    assert.equal((await cli(['validate', lab.env])).code, 0);
    assert.equal((await cli(['plan', lab.env, '--out', lab.planFile])).code, 2);

    for (const [args, why] of [
      [[], /declares journalSigners \(ci\): apply needs --journal-key/],
      [['--journal-key', mallory.keyFile], /not one of the journalSigners of environment schule-a/],
    ] as [string[], RegExp][]) {
      const refused = await cli(['apply', lab.planFile, ...args]);
      assert.equal(refused.code, 1);
      assert.match(refused.stderr, why);
      assert.equal(lab.sim.model.readFile('/srv/a.txt'), undefined, 'nothing applied');
      assert.equal(existsSync(journal()), false, 'no journal entry');
    }
    const apply = await cli(['apply', lab.planFile, '--journal-key', ci.keyFile]);
    assert.equal(apply.code, 0, apply.stderr);
    const verified = await cli(['journal', 'verify', lab.env]);
    assert.equal(verified.code, 0, verified.stderr);
    assert.match(verified.stdout, /every entry signed by a declared journalSigner/);

    // The attack: every entry rewritten (other approvers), hashes and chain recomputed, signed with a key of one's own.
    const attacker = loadJournalKey(mallory.keyFile);
    let prev = GENESIS;
    const rewritten = entries().map((e) => {
      const { hash: _h, signature: _s, ...body } = e;
      const out: Record<string, unknown> = { ...body, approvers: ['anna', 'ben'], prevHash: prev, signer: attacker.publicKey };
      out.hash = entryHash(out);
      out.signature = sign(null, Buffer.from(out.hash as string), attacker.key).toString('base64');
      prev = out.hash as string;
      return out;
    });
    writeFileSync(journal(), rewritten.map((e) => JSON.stringify(e)).join('\n') + '\n');
    const broken = await cli(['journal', 'verify', lab.env]);
    assert.equal(broken.code, 1);
    assert.match(broken.stderr, /journal\.jsonl:1:1: error E_JOURNAL: signed by \S+, which is not one of the environment's journalSigners/);
    assert.equal((await cli(['journal', 'head', lab.env])).code, 1, 'a broken journal has no head');
    // the same, unsigned
    writeFileSync(journal(), rewritten.map(({ signer: _k, signature: _s, ...e }) => JSON.stringify({ ...e, hash: entryHash(e) })).join('\n') + '\n');
    const unsigned = await cli(['journal', 'verify', join(lab.env, '.einklang/journal.jsonl')]);
    assert.equal(unsigned.code, 1);
    assert.match(unsigned.stderr, /unsigned entry, but the environment declares journalSigners \(ci\)/);
  });
});
