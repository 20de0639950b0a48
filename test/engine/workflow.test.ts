/**
 * The whole workflow through the real CLI against the lab's simulated Linux
 * host: plan -> apply -> converge, and every refusal apply promises
 * (tampered plan, stale plan, failed change skipping its dependents,
 * secrets never written to plans, drift).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ed25519FromRawSeed, openSshPrivateKey } from '../../providers/lab/identity.js';
import { labHostKeyFingerprint, startLinuxSimulator, type RunningLinuxSimulator } from '../../providers/servers/linux/simulator/server.js';
import { freePort } from '../support/sshd.js';
import { hasStackTrace, runCli, writeTree } from '../support/cli.js';

const SECRET_VALUE = 'Tr0ub4dor&3-very-secret';

async function setup(extra = '') {
  const port = await freePort();
  const root = writeTree({
    'envs/keys/id_ed25519': openSshPrivateKey(ed25519FromRawSeed(randomBytes(32))),
    'envs/lab/environment.yaml': 'apiVersion: einklang/v1\nkind: Environment\nmetadata: { name: lab }\nspec: { zone: school }\n',
    'envs/lab/server.yaml': `apiVersion: einklang/v1
kind: Server
metadata: { name: web }
spec:
  os: linux
  connection: { driver: ssh, host: 127.0.0.1, port: ${port}, user: root, privateKeyFile: ../keys/id_ed25519, hostKeyFingerprint: "${labHostKeyFingerprint('lab/Server/web')}" }
`,
    'envs/lab/things.yaml': `apiVersion: einklang/v1
kind: Directory
metadata: { name: app }
spec: { server: web, path: /srv/app, mode: "750", owner: svc }
---
apiVersion: einklang/v1
kind: File
metadata: { name: conf }
spec: { server: web, path: /srv/app/app.conf, mode: "640", owner: svc, content: "key = 'value' $HOME \`id\`\\nsecond line\\n" }
---
apiVersion: einklang/v1
kind: File
metadata: { name: motd }
spec: { server: web, path: /etc/motd, content: "hello\\n" }
---
apiVersion: einklang/v1
kind: User
metadata: { name: svc }
spec: { server: web, uid: 2501, shell: /usr/sbin/nologin }
${extra}`,
  });
  chmodKey(join(root, 'envs/keys/id_ed25519'));
  const sim = await startLinuxSimulator({
    address: 'lab/Server/web',
    kind: 'Server',
    name: 'web',
    zone: 'school',
    spec: {},
    connection: { host: '127.0.0.1', port, user: 'root', privateKeyFile: join(root, 'envs/keys/id_ed25519') },
  });
  return { root, sim, env: join(root, 'envs/lab'), planFile: join(root, 'plan.json') };
}

function chmodKey(f: string) {
  writeFileSync(f, readFileSync(f), { mode: 0o600 });
}

describe('engine workflow against the lab Linux host', function () {
  this.timeout(60_000);
  let ctx: Awaited<ReturnType<typeof setup>>;
  let sim: RunningLinuxSimulator;
  afterEach(async () => {
    await sim?.stop();
  });

  it('plans (exit 2), applies exactly that plan, and re-plans with no changes (exit 0)', async () => {
    ctx = await setup();
    sim = ctx.sim;
    const plan = await runCli(['plan', ctx.env, '--out', ctx.planFile], { cwd: ctx.root });
    assert.equal(plan.code, 2, plan.stderr);
    assert.match(plan.stdout, /\+\s+lab\/File\/conf/);
    assert.match(plan.stdout, /\+\s+lab\/User\/svc/);
    const file = JSON.parse(readFileSync(ctx.planFile, 'utf8'));
    for (const k of ['formatVersion', 'engineVersion', 'createdAt', 'source', 'zone', 'environments', 'summary', 'applyable', 'complete', 'errored', 'changes', 'policy', 'approvalsRequired', 'hash', 'approvals']) {
      assert.ok(k in file, `plan file lacks ${k}`);
    }
    for (const k of ['address', 'kind', 'target', 'actions', 'before', 'after', 'diff', 'liveFingerprint', 'dependsOn']) assert.ok(k in file.changes[0], `change lacks ${k}`);
    // The file depends on its directory and its owner; the directory on its owner.
    const conf = file.changes.find((c: { address: string }) => c.address === 'lab/File/conf');
    assert.deepEqual(conf.dependsOn, ['lab/Directory/app', 'lab/User/svc']);

    const apply = await runCli(['apply', ctx.planFile], { cwd: ctx.root });
    assert.equal(apply.code, 0, apply.stdout + apply.stderr);
    assert.match(apply.stdout, /4 applied, 0 failed, 0 skipped/);
    assert.equal(sim.model.readFile('/srv/app/app.conf')?.toString(), "key = 'value' $HOME `id`\nsecond line\n");
    assert.equal(sim.model.files.get('/srv/app/app.conf')?.mode, 0o640);
    assert.equal(sim.model.files.get('/srv/app/app.conf')?.uid, 2501);

    const again = await runCli(['plan', ctx.env], { cwd: ctx.root });
    assert.equal(again.code, 0, again.stdout + again.stderr);
    assert.match(again.stdout, /No changes/);
  });

  it('refuses a plan file edited after planning, and writes nothing', async () => {
    ctx = await setup();
    sim = ctx.sim;
    assert.equal((await runCli(['plan', ctx.env, '--out', ctx.planFile], { cwd: ctx.root })).code, 2);
    const text = readFileSync(ctx.planFile, 'utf8').replace('hello\\n', 'HELLO\\n');
    writeFileSync(ctx.planFile, text);
    const before = sim.model.journal.length;
    const apply = await runCli(['apply', ctx.planFile], { cwd: ctx.root });
    assert.equal(apply.code, 1);
    assert.match(apply.stderr, /hash mismatch/);
    assert.equal(sim.model.journal.length, before);
    assert.equal(sim.model.readFile('/etc/motd'), undefined);
  });

  it('refuses a stale plan when the host changed since planning, and writes nothing', async () => {
    ctx = await setup();
    sim = ctx.sim;
    assert.equal((await runCli(['plan', ctx.env, '--out', ctx.planFile], { cwd: ctx.root })).code, 2);
    sim.model.writeFile('/etc/motd', 'changed by hand\n');
    const before = sim.model.journal.length;
    const apply = await runCli(['apply', ctx.planFile], { cwd: ctx.root });
    assert.equal(apply.code, 1);
    assert.match(apply.stderr, /plan is stale: re-plan/);
    assert.equal(sim.model.journal.length, before, 'nothing may be written');
    assert.equal(sim.model.readFile('/srv/app/app.conf'), undefined);
    assert.equal(sim.model.readFile('/etc/motd')?.toString(), 'changed by hand\n');
  });

  it('skips the dependents of a failed change, runs independent ones, and lists all three', async () => {
    ctx = await setup();
    sim = ctx.sim;
    assert.equal((await runCli(['plan', ctx.env, '--out', ctx.planFile], { cwd: ctx.root })).code, 2);
    sim.model.faults.failOps = ['dir-create'];
    const apply = await runCli(['apply', ctx.planFile], { cwd: ctx.root });
    assert.equal(apply.code, 1);
    assert.match(apply.stdout, /FAILED\s+lab\/Directory\/app/);
    assert.match(apply.stdout, /skipped\s+lab\/File\/conf: depends on lab\/Directory\/app, which failed/);
    assert.match(apply.stdout, /applied\s+lab\/File\/motd/);
    assert.match(apply.stdout, /applied\s+lab\/User\/svc/);
    assert.match(apply.stdout, /2 applied, 1 failed, 1 skipped/);
    assert.equal(sim.model.readFile('/etc/motd')?.toString(), 'hello\n');
    assert.ok(!hasStackTrace(apply.stdout + apply.stderr));
  });

  it('keeps secrets out of the plan file and output, applies the real value, and treats a rotation as stale', async () => {
    ctx = await setup(`---
apiVersion: einklang/v1
kind: File
metadata: { name: token }
spec: { server: web, path: /etc/app-token, mode: "0600", content: "token=\${secret:APP_TOKEN}\\n" }
`);
    sim = ctx.sim;
    const env = { EINKLANG_SECRET_SCHOOL_APP_TOKEN: SECRET_VALUE };
    const plan = await runCli(['plan', ctx.env, '--out', ctx.planFile], { cwd: ctx.root, env });
    assert.equal(plan.code, 2, plan.stderr);
    const text = readFileSync(ctx.planFile, 'utf8');
    assert.ok(!text.includes(SECRET_VALUE), 'secret value in plan file');
    assert.ok(!plan.stdout.includes(SECRET_VALUE) && !plan.stderr.includes(SECRET_VALUE), 'secret value in output');
    assert.match(text, /<secret:APP_TOKEN>/);
    assert.match(text, /"fingerprint": "hmac-sha256:[0-9a-f]{64}"/);
    const rotated = await runCli(['apply', ctx.planFile], { cwd: ctx.root, env: { EINKLANG_SECRET_SCHOOL_APP_TOKEN: 'rotated-value' } });
    assert.equal(rotated.code, 1);
    assert.match(rotated.stderr, /plan is stale: re-plan \(secret APP_TOKEN/);
    const apply = await runCli(['apply', ctx.planFile], { cwd: ctx.root, env });
    assert.equal(apply.code, 0, apply.stdout + apply.stderr);
    assert.ok(!apply.stdout.includes(SECRET_VALUE));
    assert.equal(sim.model.readFile('/etc/app-token')?.toString(), `token=${SECRET_VALUE}\n`);
    const again = await runCli(['plan', ctx.env], { cwd: ctx.root, env });
    assert.equal(again.code, 0, again.stdout);
    // Changing the value on the host shows as a change without revealing either value.
    sim.model.writeFile('/etc/app-token', 'token=other-live-value\n', { mode: 0o600 });
    const drift = await runCli(['drift', ctx.env], { cwd: ctx.root, env });
    assert.equal(drift.code, 2);
    assert.ok(!drift.stdout.includes('other-live-value') && !drift.stdout.includes(SECRET_VALUE), drift.stdout);
    assert.match(drift.stdout, /sensitive/);
  });

  it('reports drift (exit 2) for a file changed by hand, and none after converging', async () => {
    ctx = await setup();
    sim = ctx.sim;
    assert.equal((await runCli(['plan', ctx.env, '--out', ctx.planFile], { cwd: ctx.root })).code, 2);
    assert.equal((await runCli(['apply', ctx.planFile], { cwd: ctx.root })).code, 0);
    assert.equal((await runCli(['drift', ctx.env], { cwd: ctx.root })).code, 0);
    sim.model.writeFile('/etc/motd', 'edited on the host\n');
    const drift = await runCli(['drift', ctx.env], { cwd: ctx.root });
    assert.equal(drift.code, 2);
    assert.match(drift.stdout, /~\s+lab\/File\/motd/);
    assert.match(drift.stdout, /-edited on the host/);
    assert.match(drift.stdout, /\+hello/);
    const md = await runCli(['plan', ctx.env, '--format', 'markdown'], { cwd: ctx.root });
    assert.equal(md.code, 2);
    assert.match(md.stdout, /\| update \| 1 \|/);
    assert.match(md.stdout, /<details>/);
  });

  it('fails cleanly when the pinned host key does not match, before sending anything', async () => {
    ctx = await setup();
    sim = ctx.sim;
    const f = join(ctx.env, 'server.yaml');
    writeFileSync(f, readFileSync(f, 'utf8').replace(/SHA256:[A-Za-z0-9+/]{43}/, 'SHA256:' + 'A'.repeat(43)));
    const requests = sim.model.requests;
    const plan = await runCli(['plan', ctx.env], { cwd: ctx.root });
    assert.equal(plan.code, 1);
    assert.match(plan.stdout + plan.stderr, /host key/i);
    assert.equal(sim.model.requests, requests);
    assert.ok(!hasStackTrace(plan.stdout + plan.stderr));
  });
});
