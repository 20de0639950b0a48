/**
 * Issue 9 item 5 through the real CLI against a real OpenSSH sshd: a managed
 * path that is a symbolic link to a root-only file. `plan` refuses naming
 * the path and prints nothing of the file; a link put in place between plan
 * and apply makes `apply` refuse; the link's target keeps its mode, owner and
 * content throughout. Files only under a temp dir.
 */
import assert from 'node:assert/strict';
import { chmodSync, lstatSync, mkdtempSync, readFileSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requireSshd, sshdEnvironment, startSshd, type RunningSshd } from '../support/sshd.js';
import { runCli, writeTree } from '../support/cli.js';

const SECRET = 'TOPSECRET root-only content\n';

describe('CLI against a real sshd: a symbolic link at a managed path', function () {
  this.timeout(90_000);
  let sshd: RunningSshd;
  let data: string;
  let root: string;
  let env: string;
  let secret: string;
  let managed: string;

  before(async function () {
    requireSshd(this);
    sshd = await startSshd();
    data = mkdtempSync(join(tmpdir(), 'einklang-symlink-'));
    secret = join(data, 'shadow');
    managed = join(data, 'motd');
    root = writeTree({
      ...sshdEnvironment(sshd),
      'envs/real/motd.yaml': `apiVersion: einklang/v1
kind: File
metadata: { name: motd }
spec: { server: host, path: ${managed}, content: "Willkommen\\n", mode: "0666", owner: nobody }
`,
    });
    env = join(root, 'envs/real');
  });

  beforeEach(() => {
    writeFileSync(secret, SECRET);
    chmodSync(secret, 0o600);
    rmSync(managed, { force: true });
  });

  after(async () => {
    await sshd?.stop();
    if (data) rmSync(data, { recursive: true, force: true });
    if (root) rmSync(root, { recursive: true, force: true });
  });

  const cli = (args: string[]) => runCli([...args, '--keys-dir', sshd.dir], { cwd: root });

  function assertSecretUntouched(): void {
    const st = lstatSync(secret);
    assert.equal(readFileSync(secret, 'utf8'), SECRET, 'content kept');
    assert.equal(st.mode & 0o7777, 0o600, 'mode kept');
    assert.equal(st.uid, 0, 'owner kept');
    assert.ok(lstatSync(managed).isSymbolicLink(), 'the link is left as it is');
  }

  it('plan refuses, naming the path, and shows nothing of the root-only file', async () => {
    symlinkSync(secret, managed);
    for (const format of ['text', 'markdown', 'json']) {
      const r = await cli(['plan', env, '--format', format]);
      assert.equal(r.code, 1, r.stdout + r.stderr);
      const out = r.stdout + r.stderr;
      assert.match(out, new RegExp(`File ${managed.replace(/[/.]/g, '\\$&')} is a symbolic link on the host`), format);
      assert.ok(!out.includes('TOPSECRET') && !out.includes(Buffer.from(SECRET).toString('base64')), `${format}: the target's content is not printed`);
    }
    assertSecretUntouched();
  });

  it('apply refuses when the path became a link after the plan, and writes nothing through it', async () => {
    writeFileSync(managed, 'old\n', { mode: 0o644 });
    const planFile = join(root, 'plan.json');
    const plan = await cli(['plan', env, '--out', planFile]);
    assert.equal(plan.code, 2, plan.stdout + plan.stderr);
    unlinkSync(managed);
    symlinkSync(secret, managed);
    const apply = await cli(['apply', planFile]);
    assert.equal(apply.code, 1, apply.stdout + apply.stderr);
    assert.match(apply.stdout + apply.stderr, /is a symbolic link/);
    assert.ok(!(apply.stdout + apply.stderr).includes('TOPSECRET'));
    assertSecretUntouched();
  });
});
