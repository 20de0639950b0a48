import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cmdApprove, cmdJournalVerify, cmdKeygen, cmdUnlock } from '../../engine/governance/commands.js';
import { applyGate } from '../../engine/governance/gate.js';
import { appendJournal, journalPath } from '../../engine/governance/journal.js';
import { envLockStore } from '../../engine/governance/locks.js';
import { environment, makePlan, res } from './helpers.js';

describe('governance commands', () => {
  const dir = mkdtempSync(join(tmpdir(), 'einklang-cmd-'));

  it('keygen, approve twice, and the gate accepts the file; refuses the author and tampering', () => {
    for (const n of ['alice', 'bob', 'dave']) assert.equal(cmdKeygen({ out: join(dir, 'keys'), name: n }).exitCode, 0);
    assert.equal(cmdKeygen({ out: join(dir, 'keys'), name: 'alice' }).exitCode, 1);
    const pub = (n: string) => readFileSync(join(dir, 'keys', `${n}.pub`), 'utf8').trim();
    const reviewers = [
      res('verwaltung', 'administration', 'Reviewer', 'alice', { publicKey: pub('alice'), groups: ['school-net'] }),
      res('verwaltung', 'administration', 'Reviewer', 'bob', { publicKey: pub('bob'), groups: ['school-net'] }),
      res('verwaltung', 'administration', 'Reviewer', 'dave', { publicKey: pub('dave'), groups: ['school-net'], email: 'author@example.org' }),
    ];
    const planFile = join(dir, 'plan.json');
    writeFileSync(planFile, JSON.stringify(makePlan(), null, 2));
    const key = (n: string) => join(dir, 'keys', `${n}.key`);

    const own = cmdApprove(planFile, key('dave'), { reviewers });
    assert.equal(own.exitCode, 1);
    assert.match(own.output[0], /author/);
    assert.equal(cmdApprove(planFile, key('alice')).exitCode, 0);
    assert.match(cmdApprove(planFile, key('alice')).output[0], /already signed/);
    const envs = [environment('school-a', 'school', { approvals: { required: 2, groups: ['school-net'] } })];
    const now = new Date();
    assert.equal(applyGate(JSON.parse(readFileSync(planFile, 'utf8')), { reviewers, environments: envs, now, emergency: false }).ok, false);
    const r = cmdApprove(planFile, key('bob'), { reviewers });
    assert.equal(r.exitCode, 0, r.output.join('\n'));
    assert.match(r.output.join('\n'), /2 approval\(s\) in the plan, 2 required/);
    const gate = applyGate(JSON.parse(readFileSync(planFile, 'utf8')), { reviewers, environments: envs, now, emergency: false });
    assert.equal(gate.ok, true, gate.reasons.join('\n'));

    // edit one byte of the approved plan: refused at the gate and by approve
    const text = readFileSync(planFile, 'utf8').replace('"create"', '"delete"');
    writeFileSync(planFile, text);
    assert.equal(applyGate(JSON.parse(text), { reviewers, environments: envs, now, emergency: false }).ok, false);
    assert.match(cmdApprove(planFile, key('dave')).output[0], /modified/);
    assert.equal(cmdApprove(join(dir, 'nope.json'), key('bob')).exitCode, 1);
    assert.equal(cmdApprove(planFile, join(dir, 'keys', 'alice.pub')).exitCode, 1);
  });

  it('unlock breaks a lock by id', async () => {
    const envDir = join(dir, 'school-a');
    const { store, env } = envLockStore(envDir);
    const l = await store.acquire(env, { holder: 'crashed-job' });
    assert.equal((await cmdUnlock(envDir, 'wrong')).exitCode, 1);
    assert.equal((await cmdUnlock(envDir, '')).exitCode, 1);
    const r = await cmdUnlock(envDir, l.id);
    assert.equal(r.exitCode, 0);
    assert.match(r.output[0], /crashed-job/);
    assert.equal(existsSync(store.path(env)), false);
  });

  it('journal verify reports file:line of an edited entry', async () => {
    const envDir = join(dir, 'school-b');
    const file = journalPath(envDir);
    for (let i = 0; i < 3; i++) await appendJournal(file, { author: 'a', approvers: ['b'], planHash: 'sha256:' + i, emergency: false, results: [] });
    assert.equal(cmdJournalVerify(envDir).exitCode, 0);
    writeFileSync(file, readFileSync(file, 'utf8').replace('"approvers":["b"]', '"approvers":["c"]'));
    const r = cmdJournalVerify(file);
    assert.equal(r.exitCode, 1);
    assert.match(r.output[0], new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:1:1: error E_JOURNAL: `));
    assert.equal(cmdJournalVerify(join(dir, 'missing.jsonl')).exitCode, 1);
  });
});
