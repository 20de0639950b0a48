/**
 * Governance through the real CLI, as CI runs it (the sequence of docs/ci.md):
 * plan (markdown comment + JSON artifact) -> approve x2 -> apply -> drift,
 * and each refusal: too few approvals, the author's own signature, an edited
 * approved plan, an edited journal, a held lock, overlapping subnets and
 * shared management addresses across zones, another zone's secrets.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ed25519FromRawSeed, openSshPrivateKey, sshFingerprint } from '../../providers/lab/identity.js';
import { labHostKeyFingerprint, startLinuxSimulator, type RunningLinuxSimulator } from '../../providers/servers/linux/simulator/server.js';
import { freePort } from '../support/sshd.js';
import { CLI, hasStackTrace, runCli, writeTree } from '../support/cli.js';

interface Keys {
  dir: string;
  pub: Record<string, string>;
}

async function keygen(root: string, names: string[]): Promise<Keys> {
  const dir = join(root, 'reviewer-keys');
  const pub: Record<string, string> = {};
  for (const n of names) {
    const r = await runCli(['keygen', '--out', dir, '--name', n], { cwd: root });
    assert.equal(r.code, 0, r.stderr);
    pub[n] = readFileSync(join(dir, `${n}.pub`), 'utf8').trim();
  }
  return { dir, pub };
}

async function schoolSetup() {
  const port = await freePort();
  const root = writeTree({ 'envs/keys/id': openSshPrivateKey(ed25519FromRawSeed(randomBytes(32))) });
  writeFileSync(join(root, 'envs/keys/id'), readFileSync(join(root, 'envs/keys/id')), { mode: 0o600 });
  const keys = await keygen(root, ['anna', 'ben', 'author']);
  writeTree(
    {
      'envs/schule-a/environment.yaml': `apiVersion: einklang/v1
kind: Environment
metadata: { name: schule-a }
spec: { zone: school, approvals: { required: 2, groups: [schul-it] } }
`,
      'envs/schule-a/reviewers.yaml': ['anna', 'ben', 'author']
        .map((n) => `apiVersion: einklang/v1\nkind: Reviewer\nmetadata: { name: ${n} }\nspec: { publicKey: "${keys.pub[n]}", groups: [schul-it], email: ${n}@schule.invalid }\n`)
        .join('---\n'),
      'envs/schule-a/server.yaml': `apiVersion: einklang/v1
kind: Server
metadata: { name: server }
spec:
  os: linux
  connection: { driver: ssh, host: 127.0.0.1, port: ${port}, user: root, privateKeyFile: ../keys/id, hostKeyFingerprint: "${labHostKeyFingerprint('schule-a/Server/server')}" }
---
apiVersion: einklang/v1
kind: File
metadata: { name: motd }
spec: { server: server, path: /etc/motd, content: "Schule A\\n" }
`,
      'envs/verwaltung/environment.yaml': 'apiVersion: einklang/v1\nkind: Environment\nmetadata: { name: verwaltung }\nspec: { zone: administration, managementNetworks: [10.50.0.0/24] }\n',
    },
    root,
  );
  const sim = await startLinuxSimulator({ address: 'schule-a/Server/server', kind: 'Server', name: 'server', zone: 'school', spec: {}, connection: { host: '127.0.0.1', port, user: 'root', privateKeyFile: join(root, 'envs/keys/id') } });
  return { root, keys, sim, env: join(root, 'envs/schule-a'), plan: join(root, 'plan.json') };
}

describe('governance through the CLI', function () {
  this.timeout(120_000);
  let sim: RunningLinuxSimulator | undefined;
  afterEach(async () => {
    await sim?.stop();
    sim = undefined;
  });

  it('runs the CI sequence: a 2-approval plan is refused with 1, refused with the author, applied with 2; the journal detects edits', async () => {
    const s = await schoolSetup();
    sim = s.sim;
    const author = { EINKLANG_AUTHOR: 'author@schule.invalid' };
    const md = await runCli(['plan', s.env, '--format', 'markdown', '--out', s.plan], { cwd: s.root, env: author });
    assert.equal(md.code, 2, md.stderr);
    assert.match(md.stdout, /\*\*2 approval\(s\)\*\* needed/);
    const approve = (who: string) => runCli(['approve', s.plan, '--key', join(s.keys.dir, `${who}.key`)], { cwd: s.root });

    assert.equal((await approve('anna')).code, 0);
    let apply = await runCli(['apply', s.plan], { cwd: s.root });
    assert.equal(apply.code, 1);
    assert.match(apply.stderr, /apply refused: .*approv/i);
    assert.equal(sim.model.readFile('/etc/motd'), undefined, 'nothing applied with one approval');

    // The author cannot be the second pair of eyes: refused at approve, and not counted at apply if forced in.
    const own = await approve('author');
    assert.equal(own.code, 1);
    assert.match(own.stderr, /author/);
    const forced = JSON.parse(readFileSync(s.plan, 'utf8'));
    const { signPlan } = await import('../../engine/governance/approvals.js');
    forced.approvals.push(signPlan(forced, readFileSync(join(s.keys.dir, 'author.key'), 'utf8'), 'author'));
    const forcedFile = join(s.root, 'forced.json');
    writeFileSync(forcedFile, JSON.stringify(forced));
    apply = await runCli(['apply', forcedFile], { cwd: s.root });
    assert.equal(apply.code, 1);
    assert.match(apply.stderr, /author/);
    assert.equal(sim.model.readFile('/etc/motd'), undefined);

    // Editing any byte of an approved plan is detected.
    assert.equal((await approve('ben')).code, 0);
    const approved = readFileSync(s.plan, 'utf8');
    const tampered = join(s.root, 'tampered.json');
    writeFileSync(tampered, approved.replace('Schule A', 'Schule B'));
    apply = await runCli(['apply', tampered], { cwd: s.root });
    assert.equal(apply.code, 1);
    assert.match(apply.stderr, /hash mismatch/);
    const forged = JSON.parse(approved);
    forged.approvals[1].signature = forged.approvals[0].signature;
    writeFileSync(tampered, JSON.stringify(forged));
    apply = await runCli(['apply', tampered], { cwd: s.root });
    assert.equal(apply.code, 1);
    assert.equal(sim.model.readFile('/etc/motd'), undefined);

    apply = await runCli(['apply', s.plan], { cwd: s.root });
    assert.equal(apply.code, 0, apply.stdout + apply.stderr);
    assert.equal(sim.model.readFile('/etc/motd')?.toString(), 'Schule A\n');
    assert.equal((await runCli(['drift', s.env], { cwd: s.root })).code, 0);

    // The journal has the apply; any edit of it is found.
    const journal = join(s.env, '.einklang/journal.jsonl');
    let verify = await runCli(['journal', 'verify', s.env], { cwd: s.root });
    assert.equal(verify.code, 0, verify.stderr);
    const text = readFileSync(journal, 'utf8');
    assert.match(text, /"approvers":\["anna","ben"\]/);
    // start, target, end: the target entry (line 2) says applied; make it say failed
    assert.deepEqual(text.trim().split('\n').map((l) => JSON.parse(l).event), ['start', 'target', 'end']);
    writeFileSync(journal, text.replace('"applied"', '"failed"'));
    verify = await runCli(['journal', 'verify', journal], { cwd: s.root });
    assert.equal(verify.code, 1);
    assert.match(verify.stderr, /journal\.jsonl:2:1: error E_JOURNAL: hash does not match/);
    assert.ok(!hasStackTrace(verify.stderr));
  });

  it('never runs two applies of one environment at once', async () => {
    const s = await schoolSetup();
    sim = s.sim;
    const file = join(s.env, 'server.yaml');
    writeFileSync(file, readFileSync(file, 'utf8').replace('required: 2', 'required: 0'));
    writeFileSync(join(s.env, 'environment.yaml'), readFileSync(join(s.env, 'environment.yaml'), 'utf8').replace('required: 2', 'required: 0'));
    assert.equal((await runCli(['plan', s.env, '--out', s.plan], { cwd: s.root })).code, 2);
    s.sim.model.faults.latencyMs = 400; // the first apply holds the lock a while
    const [a, b] = await Promise.all([runCli(['apply', s.plan], { cwd: s.root }), runCli(['apply', s.plan], { cwd: s.root })]);
    const codes = [a.code, b.code].sort();
    assert.deepEqual(codes, [0, 1], a.stderr + b.stderr);
    const loser = a.code === 1 ? a : b;
    assert.match(loser.stderr, /held by|locked/i);
    // An apply that could not take the lock wrote nothing and left no journal entry of its own: one start, one target, one end.
    const entries = readFileSync(join(s.env, '.einklang/journal.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    assert.deepEqual(entries.map((e) => e.event), ['start', 'target', 'end']);
  });

  it('releases the environment lock when an apply is interrupted', async () => {
    const s = await schoolSetup();
    sim = s.sim;
    writeFileSync(join(s.env, 'environment.yaml'), readFileSync(join(s.env, 'environment.yaml'), 'utf8').replace('required: 2', 'required: 0'));
    assert.equal((await runCli(['plan', s.env, '--out', s.plan], { cwd: s.root })).code, 2);
    s.sim.model.faults.latencyMs = 3000;
    const child = spawn(process.execPath, [CLI, 'apply', s.plan], { cwd: s.root, env: { ...process.env, CI: 'true' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const lockDir = join(s.env, '.einklang/locks');
    for (let i = 0; i < 100 && !(existsSync(lockDir) && readdirSync(lockDir).some((f) => f.endsWith('.lock'))); i++) await new Promise((r) => setTimeout(r, 50));
    assert.ok(readdirSync(lockDir).some((f) => f.endsWith('.lock')), 'the apply holds the lock');
    await new Promise((r) => setTimeout(r, 300)); // well inside the slow re-read that follows the lock
    child.kill('SIGTERM');
    const code = await new Promise<number | null>((r) => child.on('close', r));
    assert.equal(code, 130, stderr);
    assert.match(stderr, /interrupted by SIGTERM; releasing locks/);
    assert.deepEqual(readdirSync(lockDir).filter((f) => f.endsWith('.lock')), []);
    // the journal says so: the start entry, then an end entry for the interruption
    const events = readFileSync(join(s.env, '.einklang/journal.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    assert.deepEqual(events.map((e) => [e.event, e.outcome, e.signal]), [['start', undefined, undefined], ['end', 'interrupted', 'SIGTERM']]);
  });

  it('refuses overlapping VLAN subnets and shared management addresses across zones, naming both files', async () => {
    const sw = (name: string, host: string, port: number) => `apiVersion: einklang/v1
kind: Switch
metadata: { name: ${name} }
spec: { connection: { driver: ios, host: ${host}, port: ${port}, user: admin, password: "\${secret:SWITCH_PASSWORD}", hostKeyFingerprint: "${sshFingerprint(ed25519FromRawSeed(Buffer.alloc(32, 7)))}" } }
`;
    const vlan = (name: string, sw: string, subnet: string) => `apiVersion: einklang/v1\nkind: Vlan\nmetadata: { name: ${name} }\nspec: { id: 20, name: ${name.toUpperCase()}, subnet: ${subnet}, switches: [${sw}] }\n`;
    const root = writeTree({
      'envs/schule-b/environment.yaml': 'apiVersion: einklang/v1\nkind: Environment\nmetadata: { name: schule-b }\nspec: { zone: school, managementNetworks: [10.50.0.0/24] }\n',
      'envs/schule-b/net.yaml': sw('core', '10.50.0.1', 22) + '---\n' + vlan('schueler', 'core', '10.20.0.0/23'),
      'envs/verwaltung/environment.yaml': 'apiVersion: einklang/v1\nkind: Environment\nmetadata: { name: verwaltung }\nspec: { zone: administration, managementNetworks: [10.50.0.0/24] }\n',
      'envs/verwaltung/net.yaml': sw('rz-core', '10.50.0.1', 22) + '---\n' + vlan('buero', 'rz-core', '10.20.1.0/24'),
    });
    for (const cmd of ['validate', 'plan']) {
      const r = await runCli([cmd, join(root, 'envs/schule-b')], { cwd: root });
      assert.equal(r.code, 1, cmd);
      const out = r.stdout + r.stderr;
      assert.match(out, /zone-separation/);
      assert.match(out, /schule-b\/Vlan\/schueler/);
      assert.match(out, /verwaltung\/Vlan\/buero/);
      assert.match(out, /envs\/verwaltung\/net\.yaml/);
      assert.match(out, /envs\/schule-b\/net\.yaml:\d+:\d+/);
      assert.match(out, /verwaltung\/Switch\/rz-core/);
      assert.ok(!/read schule-b/.test(r.stderr), 'nothing is read from a device');
    }
  });

  it("never resolves another zone's secrets", async () => {
    const s = await schoolSetup();
    sim = s.sim;
    writeFileSync(join(s.env, 'secret.yaml'), 'apiVersion: einklang/v1\nkind: File\nmetadata: { name: token }\nspec: { server: server, path: /etc/token, content: "${secret:TOKEN}" }\n');
    const r = await runCli(['plan', s.env], { cwd: s.root, env: { EINKLANG_SECRET_ADMINISTRATION_TOKEN: 'admin-only' } });
    assert.equal(r.code, 1);
    assert.match(r.stdout + r.stderr, /secret TOKEN is not set: define EINKLANG_SECRET_SCHOOL_TOKEN/);
    assert.ok(!(r.stdout + r.stderr).includes('admin-only'));
    const secretsDir = writeTree({ 'administration/TOKEN': 'admin-file-value\n', 'school/OTHER': 'x\n' });
    const r2 = await runCli(['plan', s.env, '--secrets-dir', secretsDir], { cwd: s.root });
    assert.equal(r2.code, 1);
    assert.match(r2.stdout + r2.stderr, /school\/TOKEN/);
  });
});
