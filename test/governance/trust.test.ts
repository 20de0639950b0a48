/**
 * The trust model through the real CLI, in a git repository whose `main` is
 * the trusted branch and a change under review on a branch (issue 9 items
 * 1-4): a change never approves itself, apply trusts nothing in the plan
 * about places, authors are matched by identity, and a plan never leaks what
 * it reads. Each attack is reproduced and must be refused with exit 1 and
 * nothing changed on the (simulated) device.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync, appendFileSync, rmSync, mkdirSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { keygen, signPlan, computePlanHash } from '../../engine/governance/approvals.js';
import { runCli, writeTree } from '../support/cli.js';
import { startLabServer, type LabServer } from '../support/lab-server.js';

const git = (cwd: string, ...args: string[]) => execFileSync('git', args, { cwd, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@x', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@x' } }).toString();

const reviewer = (name: string, pub: string, extra = '') => `apiVersion: einklang/v1\nkind: Reviewer\nmetadata: { name: ${name} }\nspec: { publicKey: "${pub}", groups: [schul-it]${extra} }\n`;
const motd = (content: string) => `apiVersion: einklang/v1\nkind: File\nmetadata: { name: motd }\nspec: { server: server, path: /etc/motd, content: "${content}\\n" }\n`;

interface Repo extends LabServer {
  keys: string;
  anna: { keyFile: string; publicKey: string };
  ben: { keyFile: string; publicKey: string };
  cli(args: string[], env?: NodeJS.ProcessEnv): ReturnType<typeof runCli>;
}

/** main: one school with a lab server, two reviewers (anna, ben), two approvals required; then a branch `change`. */
async function trustedRepo(): Promise<Repo> {
  const lab = await startLabServer({ environmentSpec: 'approvals: { required: 2, groups: [schul-it] }' });
  const keys = join(lab.root, 'private-keys');
  mkdirSync(keys);
  const anna = keygen(keys, 'anna');
  const ben = keygen(keys, 'ben');
  writeFileSync(join(lab.env, 'reviewers.yaml'), reviewer('anna', anna.publicKey, ', email: anna.schmidt@stadt.example, logins: [aschmidt]') + '---\n' + reviewer('ben', ben.publicKey, ', email: ben@stadt.example'));
  writeFileSync(join(lab.root, '.gitignore'), 'private-keys/\nplan*.json\n');
  git(lab.root, 'init', '-q', '-b', 'main');
  git(lab.root, 'add', '.');
  git(lab.root, 'commit', '-qm', 'trusted');
  git(lab.root, 'checkout', '-q', '-b', 'change');
  return { ...lab, keys, anna, ben, cli: (args, env) => runCli(args, { cwd: lab.root, env }) };
}

function commitChange(repo: Repo, msg = 'change'): void {
  git(repo.root, 'add', '.');
  git(repo.root, 'commit', '-qm', msg);
}

describe('trust: the change under review never decides who approves it', function () {
  this.timeout(60_000);
  let repo: Repo;
  afterEach(async () => {
    await repo?.sim.stop();
    if (repo) rmSync(repo.root, { recursive: true, force: true });
  });

  it('self-declared reviewers: listed first as a governance change, their keys refused by approve and by apply', async () => {
    repo = await trustedRepo();
    const mallory1 = keygen(repo.keys, 'm1');
    const mallory2 = keygen(repo.keys, 'm2');
    appendFileSync(join(repo.env, 'reviewers.yaml'), '---\n' + reviewer('m1', mallory1.publicKey) + '---\n' + reviewer('m2', mallory2.publicKey));
    writeFileSync(join(repo.env, 'motd.yaml'), motd('pwned'));
    commitChange(repo);
    const plan = await repo.cli(['plan', repo.env, '--trusted-ref', 'main', '--author', 'mallory@x', '--out', repo.planFile]);
    assert.equal(plan.code, 2, plan.stderr);
    assert.match(plan.stderr, /trust: rules from the trusted revision main \([0-9a-f]{12}\)/);
    const saved = JSON.parse(readFileSync(repo.planFile, 'utf8'));
    assert.equal(saved.trust.source, 'git');
    assert.equal(saved.trust.commit, git(repo.root, 'rev-parse', 'main').trim());
    assert.deepEqual(saved.governance.map((g: { address: string; action: string }) => `${g.action} ${g.address}`), ['create schule-a/Reviewer/m1', 'create schule-a/Reviewer/m2']);
    assert.equal(saved.approvalsRequired.count, 2);
    const text = plan.stdout;
    assert.match(text, /^Risk: read these first[^\n]*\n  rules +create Reviewer .*m1/m);
    assert.ok(text.indexOf('schule-a/Reviewer/m1') < text.indexOf('/etc/motd'), 'the governance change is listed before the other changes');

    const approve = await repo.cli(['approve', repo.planFile, '--key', join(repo.keys, 'm1.key'), '--trusted-ref', 'main']);
    assert.equal(approve.code, 1);
    assert.match(approve.stderr + approve.stdout, /belongs to no Reviewer of the trusted revision/);

    // the attacker writes their signatures into the plan file themselves
    saved.approvals = [signPlan(saved, readFileSync(join(repo.keys, 'm1.key'), 'utf8'), 'm1'), signPlan(saved, readFileSync(join(repo.keys, 'm2.key'), 'utf8'), 'm2')];
    writeFileSync(repo.planFile, JSON.stringify(saved));
    const apply = await repo.cli(['apply', repo.planFile, '--trusted-ref', 'main']);
    assert.equal(apply.code, 1);
    assert.match(apply.stderr, /belongs to no declared Reviewer[\s\S]*needs 2 approval/);
    assert.doesNotMatch(repo.sim.model.readFile('/etc/motd')?.toString() ?? '', /pwned/);
  });

  it('required: 0 in the change still needs the trusted two approvals, and is a governance change', async () => {
    repo = await trustedRepo();
    const envFile = join(repo.env, 'environment.yaml');
    writeFileSync(envFile, readFileSync(envFile, 'utf8').replace('required: 2', 'required: 0'));
    writeFileSync(join(repo.env, 'motd.yaml'), motd('pwned'));
    commitChange(repo);
    const plan = await repo.cli(['plan', repo.env, '--trusted-ref', 'main', '--out', repo.planFile, '--format', 'markdown']);
    assert.equal(plan.code, 2, plan.stderr);
    const saved = JSON.parse(readFileSync(repo.planFile, 'utf8'));
    assert.deepEqual(saved.governance, [{ address: 'schule-a/Environment/schule-a', kind: 'Environment', action: 'update', fields: ['approvals'], pos: saved.governance[0].pos }]);
    assert.equal(saved.approvalsRequired.count, 2);
    const apply = await repo.cli(['apply', repo.planFile, '--trusted-ref', 'main']);
    assert.equal(apply.code, 1);
    assert.match(apply.stderr, /needs 2 approval/);
    assert.doesNotMatch(repo.sim.model.readFile('/etc/motd')?.toString() ?? '', /pwned/);
  });

  it('a forged plan (source.paths and targets rewritten, hash recomputed) is refused; nothing is sent', async () => {
    repo = await trustedRepo();
    writeFileSync(join(repo.env, 'motd.yaml'), motd('hello'));
    commitChange(repo);
    assert.equal((await repo.cli(['plan', repo.env, '--trusted-ref', 'main', '--out', repo.planFile])).code, 2);
    const original = readFileSync(repo.planFile, 'utf8');
    // an attacker's own folder with no approval rules
    const evil = join(repo.root, 'evil', 'schule-a');
    mkdirSync(evil, { recursive: true });
    writeFileSync(join(evil, 'environment.yaml'), 'apiVersion: einklang/v1\nkind: Environment\nmetadata: { name: schule-a }\nspec: { zone: school }\n');
    const forged = JSON.parse(readFileSync(repo.planFile, 'utf8'));
    forged.source.paths = ['evil/schule-a'];
    forged.hash = computePlanHash(forged);
    writeFileSync(repo.planFile, JSON.stringify(forged));
    const a = await repo.cli(['apply', repo.planFile, '--trusted-ref', 'main']);
    assert.equal(a.code, 1);
    // the plan's paths can only choose among the repository's own folders, and then its manifests must hash as planned
    assert.match(a.stderr, /differ from the ones the plan was made from/);
    rmSync(join(repo.root, 'evil'), { recursive: true, force: true });
    const b = await repo.cli(['apply', repo.planFile, '--trusted-ref', 'main']);
    assert.equal(b.code, 1);
    assert.match(b.stderr, /needs 2 approval/);
    // the plan's own targets: another host
    forged.targets[0].connection.port = 1;
    forged.hash = computePlanHash(forged);
    writeFileSync(repo.planFile, JSON.stringify(forged));
    const c = await repo.cli(['apply', repo.planFile, '--trusted-ref', 'main']);
    assert.equal(c.code, 1);
    assert.match(c.stderr, /target schule-a\/Server\/server in the plan differs from the repository's declaration/);
    // and a plan claiming a trusted revision that is not on main's history (the change's own commit)
    const honest = JSON.parse(original);
    const claimed = { ...honest };
    claimed.trust = { ...honest.trust, commit: git(repo.root, 'rev-parse', 'change').trim() };
    claimed.hash = computePlanHash(claimed);
    writeFileSync(repo.planFile, JSON.stringify(claimed));
    const d = await repo.cli(['apply', repo.planFile, '--trusted-ref', 'main']);
    assert.equal(d.code, 1);
    assert.match(d.stderr, /trusted revision [0-9a-f]{12} is not on the history of main/);
    assert.doesNotMatch(repo.sim.model.readFile('/etc/motd')?.toString() ?? '', /hello/);
  });

  it('the author is matched by identity: an e-mail, a login, a spelling of the name are all the same person', async () => {
    repo = await trustedRepo();
    writeFileSync(join(repo.env, 'motd.yaml'), motd('hello'));
    commitChange(repo);
    for (const alias of ['anna.schmidt@stadt.example', 'ASchmidt', '@aschmidt', 'anna-schmidt', 'Anna_Schmidt']) {
      assert.equal((await repo.cli(['plan', repo.env, '--trusted-ref', 'main', '--author', alias, '--out', repo.planFile])).code, 2);
      const own = await repo.cli(['approve', repo.planFile, '--key', repo.anna.keyFile, '--trusted-ref', 'main']);
      assert.equal(own.code, 1, `${alias}: ${own.stdout}`);
      assert.match(own.stderr + own.stdout, /anna is the author of this plan/);
    }
    const ben = await repo.cli(['approve', repo.planFile, '--key', repo.ben.keyFile, '--trusted-ref', 'main']);
    assert.equal(ben.code, 0, ben.stderr);
    assert.match(ben.stdout, /approvals: 1 valid of 2 required \(signed by ben\)/);
    assert.match(ben.stdout, /still missing: .*needs 2 approval/);
    // show says the same: who signed, and how many are missing by the plan's own count
    const show = await repo.cli(['show', repo.planFile]);
    assert.match(show.stdout, /Needs 2 approval\(s\) from schul-it before apply\./);
    assert.match(show.stdout, /Signed by: ben \([0-9-]+ [0-9:]+\); 1 more needed/);
  });
});

describe('trust: a plan never sends credentials or shows content it should not', function () {
  this.timeout(60_000);
  let repo: Repo | undefined;
  let listener: Server | undefined;
  afterEach(async () => {
    await repo?.sim.stop();
    if (repo) rmSync(repo.root, { recursive: true, force: true });
    repo = undefined;
    await new Promise<void>((r) => (listener ? listener.close(() => r()) : r()));
    listener = undefined;
  });

  it('a target outside the trusted managementNetworks gets no connection, even if the change widens the list', async () => {
    const root = writeTree({ 'envs/schule-a/environment.yaml': 'apiVersion: einklang/v1\nkind: Environment\nmetadata: { name: schule-a }\nspec: { zone: school, managementNetworks: [10.20.0.0/16] }\n' });
    try {
      git(root, 'init', '-q', '-b', 'main');
      git(root, 'add', '.');
      git(root, 'commit', '-qm', 'trusted');
      git(root, 'checkout', '-q', '-b', 'change');
      let connections = 0;
      listener = createServer((s) => {
        connections++;
        s.destroy();
      });
      const port = await new Promise<number>((r) => listener!.listen(0, '127.0.0.1', () => r((listener!.address() as { port: number }).port)));
      const evilSwitch = `apiVersion: einklang/v1\nkind: Switch\nmetadata: { name: evil }\nspec: { connection: { driver: ios, host: 127.0.0.1, port: ${port}, user: admin, password: "\${secret:SWITCH_PASSWORD}", hostKeyFingerprint: "SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" } }\n`;
      const envFile = join(root, 'envs/schule-a/environment.yaml');
      writeFileSync(envFile, readFileSync(envFile, 'utf8').replace('[10.20.0.0/16]', '[10.20.0.0/16, 127.0.0.0/8]'));
      writeFileSync(join(root, 'envs/schule-a/switch.yaml'), evilSwitch);
      git(root, 'add', '.');
      git(root, 'commit', '-qm', 'widen');
      const r = await runCli(['plan', 'envs/schule-a', '--trusted-ref', 'main'], { cwd: root, env: { EINKLANG_SECRET_SCHOOL_SWITCH_PASSWORD: 'the-zone-password' } });
      assert.equal(r.code, 1, r.stdout);
      assert.match(r.stderr, /switch\.yaml:\d+:\d+: error E_MANAGEMENT_NETWORK: schule-a\/Switch\/evil: connection\.host "127\.0\.0\.1" is outside the management networks[\s\S]*trusted revision/);
      assert.equal(connections, 0, 'the attacker host received no connection');
      // nor by adding a new environment with a list of its own: a new environment gets its zone's trusted networks
      writeFileSync(envFile, readFileSync(envFile, 'utf8').replace('[10.20.0.0/16, 127.0.0.0/8]', '[10.20.0.0/16]'));
      rmSync(join(root, 'envs/schule-a/switch.yaml'));
      mkdirSync(join(root, 'envs/schule-neu'));
      writeFileSync(join(root, 'envs/schule-neu/environment.yaml'), 'apiVersion: einklang/v1\nkind: Environment\nmetadata: { name: schule-neu }\nspec: { zone: school, managementNetworks: [127.0.0.0/8] }\n', { flag: 'w' });
      writeFileSync(join(root, 'envs/schule-neu/switch.yaml'), evilSwitch);
      git(root, 'add', '-A');
      git(root, 'commit', '-qm', 'new school');
      const n = await runCli(['plan', 'envs/schule-neu', '--trusted-ref', 'main'], { cwd: root, env: { EINKLANG_SECRET_SCHOOL_SWITCH_PASSWORD: 'the-zone-password' } });
      assert.equal(n.code, 1, n.stdout);
      assert.match(n.stderr, /schule-neu\/Switch\/evil: connection\.host "127\.0\.0\.1" is outside the management networks of environment schule-neu \(10\.20\.0\.0\/16\)/);
      assert.equal(connections, 0, 'the attacker host received no connection');
      // without a list, only loopback: a non-loopback host asks for one
      rmSync(join(root, 'envs/schule-neu'), { recursive: true });
      writeFileSync(envFile, 'apiVersion: einklang/v1\nkind: Environment\nmetadata: { name: schule-a }\nspec: { zone: school }\n');
      writeFileSync(join(root, 'envs/schule-a/switch.yaml'), evilSwitch.replace('127.0.0.1', '192.0.2.10'));
      const v = await runCli(['validate', 'envs/schule-a'], { cwd: root });
      assert.equal(v.code, 1);
      assert.match(v.stderr, /error E_MANAGEMENT_NETWORK: .*is not loopback, and environment schule-a declares no spec\.managementNetworks/);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('says which rules it used: the default branch without --trusted-ref, the working tree outside git', async () => {
    repo = await trustedRepo();
    const inGit = await repo.cli(['plan', repo.env]);
    assert.match(inGit.stderr, /trust: no --trusted-ref given: rules from main \([0-9a-f]{12}\)/);
    rmSync(join(repo.root, '.git'), { recursive: true, force: true });
    const outside = await repo.cli(['plan', repo.env]);
    assert.match(outside.stderr, /trust: not a git repository: approval rules, reviewers and policies come from the working tree/);
    const wrongRef = await repo.cli(['plan', repo.env, '--trusted-ref', 'main']);
    assert.equal(wrongRef.code, 1);
    assert.match(wrongRef.stderr, /error E_TRUST: --trusted-ref main: .* is not in a git repository/);
  });

  it('shows size and hash only of a file the trusted revision does not manage, and redacts any secret of the zone by value', async () => {
    repo = await trustedRepo();
    repo.sim.model.writeFile('/etc/shadow', 'root:$6$verysecrethash:19000:0:99999:7:::\n', { mode: 0o640 });
    repo.sim.model.writeFile('/etc/app.conf', 'token=zone-secret-value-123\n', { mode: 0o644 });
    writeFileSync(
      join(repo.env, 'files.yaml'),
      'apiVersion: einklang/v1\nkind: File\nmetadata: { name: shadow }\nspec: { server: server, path: /etc/shadow, content: "x\\n" }\n---\n' +
        'apiVersion: einklang/v1\nkind: File\nmetadata: { name: app }\nspec: { server: server, path: /etc/app.conf, content: "token=none\\n" }\n',
    );
    commitChange(repo);
    // app.conf is managed on main already (its content may be shown, but never a secret's value); /etc/shadow is new in the change
    git(repo.root, 'checkout', '-q', 'main');
    writeFileSync(join(repo.env, 'files.yaml'), 'apiVersion: einklang/v1\nkind: File\nmetadata: { name: app }\nspec: { server: server, path: /etc/app.conf, content: "token=none\\n" }\n');
    commitChange(repo, 'app.conf');
    git(repo.root, 'checkout', '-q', 'change');
    const env = { EINKLANG_SECRET_SCHOOL_UNUSED_TOKEN: 'zone-secret-value-123' };
    for (const format of ['text', 'markdown', 'json']) {
      const r = await repo.cli(['plan', repo.env, '--trusted-ref', 'main', '--format', format, '--out', repo.planFile], env);
      assert.equal(r.code, 2, r.stderr);
      const everything = r.stdout + r.stderr + readFileSync(repo.planFile, 'utf8');
      assert.doesNotMatch(everything, /verysecrethash/, `${format}: the content of an untrusted file`);
      assert.match(everything, /not shown: \d+ bytes, sha256:[0-9a-f]{64}/);
      assert.doesNotMatch(everything, /zone-secret-value-123/, `${format}: an unreferenced secret's value`);
      assert.match(everything, /token=<redacted>/);
    }
    const saved = JSON.parse(readFileSync(repo.planFile, 'utf8'));
    assert.equal(saved.changes.some((c: { secrets?: unknown }) => c.secrets), false);
  });

  it('secret fingerprints are HMACs with a salt per plan: the same secret gives different fingerprints in two plans', async () => {
    repo = await trustedRepo();
    writeFileSync(join(repo.env, 'token.yaml'), 'apiVersion: einklang/v1\nkind: File\nmetadata: { name: token }\nspec: { server: server, path: /etc/token, content: "t=${secret:APP_TOKEN}\\n" }\n');
    commitChange(repo);
    const env = { EINKLANG_SECRET_SCHOOL_APP_TOKEN: 'abcdefgh' };
    const fp = async () => {
      assert.equal((await repo!.cli(['plan', repo!.env, '--trusted-ref', 'main', '--out', repo!.planFile], env)).code, 2);
      const p = JSON.parse(readFileSync(repo!.planFile, 'utf8'));
      return { salt: p.secretSalt as string, fingerprint: p.changes.find((c: { secrets?: unknown[] }) => c.secrets).secrets[0].fingerprint as string };
    };
    const a = await fp();
    const b = await fp();
    assert.match(a.fingerprint, /^hmac-sha256:[0-9a-f]{64}$/);
    assert.notEqual(a.salt, b.salt);
    assert.notEqual(a.fingerprint, b.fingerprint);
  });
});
