import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateKeyPairSync } from 'node:crypto';
import {
  computePlanHash,
  keygen,
  parsePublicKey,
  planAuthor,
  signPlan,
  verifyApprovals,
} from '../../engine/governance/approvals.js';
import { governanceKinds } from '../../engine/governance/kinds.js';
import { policyKind } from '../../policies/kinds.js';
import { loadCel } from '../../policies/cel.js';
import type { Resource } from '../../engine/types.js';
import { makePlan, person, res } from './helpers.js';

describe('governance approvals', () => {
  const dir = mkdtempSync(join(tmpdir(), 'einklang-keys-'));
  const alice = person(dir, 'alice', ['school-net'], 'alice@example.org');
  const bob = person(dir, 'bob', ['school-net']);
  const carol = person(dir, 'carol', ['admin-net']);
  const author = person(dir, 'dave', ['school-net'], 'author@example.org');
  const reviewers = [alice, bob, carol, author].map((p) => p.reviewer);
  const rules = { count: 2, groups: ['school-net'] };

  it('keygen writes a 0600 PKCS8 key and the Reviewer public key form, and never overwrites', () => {
    const d = mkdtempSync(join(tmpdir(), 'einklang-kg-'));
    const k = keygen(d, 'erin');
    assert.equal(statSync(k.keyFile).mode & 0o777, 0o600);
    assert.match(readFileSync(k.keyFile, 'utf8'), /^-----BEGIN PRIVATE KEY-----/);
    assert.equal(readFileSync(k.pubFile, 'utf8').trim(), k.publicKey);
    assert.ok(parsePublicKey(k.publicKey));
    assert.throws(() => keygen(d, 'erin'), /already exists/);
    assert.throws(() => keygen(d, '../evil'), /invalid key name/);
  });

  it('computePlanHash ignores hash and approvals but covers everything else', () => {
    const p = makePlan();
    const h = computePlanHash(p);
    assert.match(h, /^sha256:[0-9a-f]{64}$/);
    assert.equal(computePlanHash({ ...p, hash: 'x', approvals: [signPlan(p, alice.key, 'alice')] }), h);
    assert.notEqual(computePlanHash({ ...p, applyable: false }), h);
  });

  it('accepts two valid approvals from the right group', () => {
    const p = makePlan();
    p.approvals = [signPlan(p, alice.key, 'alice'), signPlan(p, bob.key, 'bob')];
    const r = verifyApprovals(p, reviewers, rules, p.author, 0);
    assert.equal(r.ok, true, r.reasons.join('\n'));
    assert.deepEqual(r.valid.map((a) => a.reviewer), ['alice', 'bob']);
  });

  it('refuses too few approvals', () => {
    const p = makePlan();
    p.approvals = [signPlan(p, alice.key, 'alice')];
    const r = verifyApprovals(p, reviewers, rules, p.author, 0);
    assert.equal(r.ok, false);
    assert.match(r.reasons.join('\n'), /needs 2 approval\(s\) from school-net, has 1 valid/);
  });

  it('refuses a forged signature', () => {
    const p = makePlan();
    const a = signPlan(p, alice.key, 'alice');
    const forged = { ...signPlan(p, bob.key, 'bob'), signature: a.signature };
    p.approvals = [a, forged, signPlan(p, carol.key, 'carol')];
    const r = verifyApprovals(p, reviewers, { count: 1, groups: [] }, p.author, 0);
    assert.equal(r.ok, false);
    assert.match(r.reasons.join('\n'), /approval 2 \(bob\): signature does not verify/);
  });

  it('refuses a signature made for another plan', () => {
    const other = makePlan({ createdAt: '2025-02-02T00:00:00.000Z' });
    const p = makePlan();
    p.approvals = [signPlan(other, alice.key, 'alice'), signPlan(p, bob.key, 'bob')];
    assert.equal(verifyApprovals(p, reviewers, rules, p.author, 0).ok, false);
  });

  it('does not count the author approving their own plan (by email, by name)', () => {
    const p = makePlan();
    p.approvals = [signPlan(p, author.key, 'dave'), signPlan(p, alice.key, 'alice')];
    let r = verifyApprovals(p, reviewers, rules, 'Author@Example.org', 0);
    assert.equal(r.ok, false);
    assert.match(r.reasons.join('\n'), /dave is the plan's author/);
    r = verifyApprovals(p, reviewers, rules, 'alice', 0);
    assert.match(r.reasons.join('\n'), /alice is the plan's author/);
    assert.equal(verifyApprovals(p, reviewers, rules, 'someone@else', 0).ok, true);
  });

  it('refuses to enforce four eyes without an author', () => {
    const p = makePlan({ author: null });
    p.approvals = [signPlan(p, alice.key, 'alice'), signPlan(p, bob.key, 'bob')];
    const r = verifyApprovals(p, reviewers, rules, null, 0);
    assert.equal(r.ok, false);
    assert.match(r.reasons.join('\n'), /no author/);
  });

  it('does not count a wrong group, duplicates, unknown keys or a false reviewer name', () => {
    const p = makePlan();
    const { privateKey } = generateKeyPairSync('ed25519');
    const strangerPem = privateKey.export({ format: 'pem', type: 'pkcs8' }) as string;
    const a = signPlan(p, alice.key, 'alice');
    p.approvals = [a, { ...a }, signPlan(p, carol.key, 'carol'), signPlan(p, strangerPem, 'mallory'), signPlan(p, bob.key, 'alice')];
    const r = verifyApprovals(p, reviewers, rules, p.author, 0);
    assert.equal(r.ok, false);
    const text = r.reasons.join('\n');
    assert.match(text, /approval 2 \(alice\): duplicate/);
    assert.match(text, /carol is not in an approving group \(school-net\)/);
    assert.match(text, /belongs to no declared Reviewer/);
    assert.match(text, /signed as "alice" but the key belongs to Reviewer bob/);
    assert.deepEqual(r.valid.map((x) => x.reviewer), ['alice']);
  });

  it('needs the extra approvals on top of the rule', () => {
    const p = makePlan();
    p.approvals = [signPlan(p, alice.key, 'alice'), signPlan(p, bob.key, 'bob')];
    const r = verifyApprovals(p, reviewers, rules, p.author, 1);
    assert.equal(r.ok, false);
    assert.match(r.reasons.join('\n'), /needs 3 approval\(s\).*\(2 \+ 1 extra\)/);
  });

  it('refuses to sign a plan whose hash does not match', () => {
    const p = makePlan();
    p.changes[0].after = { evil: true };
    assert.throws(() => signPlan(p, alice.key, 'alice'), /modified/);
  });

  it('finds the author from --author, CI variables, then git', () => {
    assert.equal(planAuthor({ author: ' x@y ', env: { GITLAB_USER_EMAIL: 'g@l' } }), 'x@y');
    assert.equal(planAuthor({ env: { GITLAB_USER_EMAIL: 'g@l', GITHUB_ACTOR: 'octo' } }), 'g@l');
    assert.equal(planAuthor({ env: { GITHUB_ACTOR: 'octo' } }), 'octo');
    const fromGit = planAuthor({ env: {} });
    assert.ok(fromGit === null || fromGit.length > 0);
  });

  it('Reviewer and Policy kinds validate keys and CEL rules with positions', async () => {
    const reviewerKind = governanceKinds.find((k) => k.kind === 'Reviewer')!;
    await loadCel();
    assert.equal(reviewerKind.isMeta, true);
    assert.equal(policyKind.schema, 'governance/Policy.schema.json');
    const ctx = { byAddress: new Map<string, Resource>() };
    assert.deepEqual(reviewerKind.validate!(alice.reviewer, ctx), []);
    for (const bad of ['abc', '-----BEGIN PUBLIC KEY-----', 'A'.repeat(43) + '=' + '=', 42]) {
      const r = res('verwaltung', 'administration', 'Reviewer', 'x', { publicKey: bad });
      const d = reviewerKind.validate!(r, ctx);
      assert.equal(d.length, 1, String(bad));
      assert.equal(d[0].code, 'E_REVIEWER_KEY');
      assert.equal(d[0].pos!.line, r.positions['/spec/publicKey'][0]);
    }
    const twin = res('school-a', 'school', 'Reviewer', 'mallory', { publicKey: alice.pub });
    const d = reviewerKind.validate!(twin, { byAddress: new Map([[alice.reviewer.address, alice.reviewer], [twin.address, twin]]) });
    assert.match(d[0].message, /same public key/);

    const ok = res('school-a', 'school', 'Policy', 'p', { rule: 'resource.spec.id > 1', message: 'm' });
    assert.deepEqual(policyKind.validate!(ok, ctx), []);
    for (const rule of ['resource.spec.id >', 'nosuchfn(resource)', 'resourc.spec.id > 1', '1 + 2']) {
      const bad = res('school-a', 'school', 'Policy', 'p', { rule, message: 'm' });
      const diags = policyKind.validate!(bad, ctx);
      assert.equal(diags.length, 1, rule);
      assert.equal(diags[0].code, 'E_POLICY_CEL');
      assert.deepEqual(diags[0].pos, { file: bad.pos.file, line: bad.positions['/spec/rule'][0], col: bad.positions['/spec/rule'][1] });
    }
  });
});
