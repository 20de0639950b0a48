/**
 * The acceptance path against a real OpenSSH sshd on 127.0.0.1,
 * through the real CLI: plan new files and users (exit 2, listed), apply
 * (content, mode, owner as declared), plan again (exit 0), a file changed by
 * hand shows in drift (exit 2) and in plan. Files only under a temp dir,
 * users and groups with the `ektcli` prefix, all removed afterwards.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requireSshd, sshdEnvironment, startSshd, type RunningSshd } from '../support/sshd.js';
import { runCli, writeTree } from '../support/cli.js';

const USER = 'ektcli_alice';
const GROUP = 'ektcli_staff';

function cleanupAccounts(): void {
  for (const cmd of [['userdel', '-r', USER], ['groupdel', GROUP]]) {
    try {
      execFileSync(cmd[0], cmd.slice(1), { stdio: 'ignore' });
    } catch {
      /* not there */
    }
  }
}

describe('CLI against a real OpenSSH sshd', function () {
  this.timeout(90_000);
  let sshd: RunningSshd;
  let dataDir: string;
  let root: string;

  before(async function () {
    requireSshd(this);
    cleanupAccounts();
    sshd = await startSshd();
    dataDir = mkdtempSync(join(tmpdir(), 'einklang-sshd-data-'));
    root = writeTree({
      ...sshdEnvironment(sshd),
      'envs/real/things.yaml': `apiVersion: einklang/v1
kind: Group
metadata: { name: staff }
spec: { server: host, name: ${GROUP}, gid: 47311 }
---
apiVersion: einklang/v1
kind: User
metadata: { name: alice }
spec: { server: host, name: ${USER}, uid: 47312, shell: /bin/sh, groups: [${GROUP}], home: ${dataDir}/home-alice }
---
apiVersion: einklang/v1
kind: File
metadata: { name: notes }
spec: { server: host, path: ${dataDir}/notes.txt, mode: "0640", owner: ${USER}, group: ${GROUP}, content: "quotes ' \\" $HOME \`id\` $(id)\\n" }
---
apiVersion: einklang/v1
kind: File
metadata: { name: blob }
spec: { server: host, path: ${dataDir}/blob.bin, mode: "600", contentBase64: "AAECA/8AZWluAA==" }
`,
    });
  });

  after(async () => {
    await sshd?.stop();
    cleanupAccounts();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
    if (root) rmSync(root, { recursive: true, force: true });
  });

  it('plans, applies, converges, and sees a hand edit as drift', async () => {
    const env = join(root, 'envs/real');
    const planFile = join(root, 'plan.json');
    // The key lives in sshd's temp dir, outside the repository: named with --keys-dir.
    const keys = ['--keys-dir', sshd.dir];
    const plan = await runCli(['plan', env, '--out', planFile, ...keys], { cwd: root });
    assert.equal(plan.code, 2, plan.stdout + plan.stderr);
    for (const a of ['real/Group/staff', 'real/User/alice', 'real/File/notes', 'real/File/blob']) assert.match(plan.stdout, new RegExp(`\\+\\s+${a}`));

    const apply = await runCli(['apply', planFile, ...keys], { cwd: root });
    assert.equal(apply.code, 0, apply.stdout + apply.stderr);
    const notes = join(dataDir, 'notes.txt');
    assert.equal(readFileSync(notes, 'utf8'), 'quotes \' " $HOME `id` $(id)\n');
    assert.deepEqual(readFileSync(join(dataDir, 'blob.bin')), Buffer.from('AAECA/8AZWluAA==', 'base64'));
    const st = statSync(notes);
    assert.equal(st.mode & 0o7777, 0o640);
    assert.equal(st.uid, 47312);
    assert.equal(statSync(join(dataDir, 'blob.bin')).mode & 0o7777, 0o600);
    assert.match(execFileSync('id', ['-Gn', USER]).toString(), new RegExp(GROUP));

    const again = await runCli(['plan', env, ...keys], { cwd: root });
    assert.equal(again.code, 0, again.stdout + again.stderr);

    writeFileSync(notes, 'edited by hand\n');
    const drift = await runCli(['drift', env, ...keys], { cwd: root });
    assert.equal(drift.code, 2, drift.stdout + drift.stderr);
    assert.match(drift.stdout, /~\s+real\/File\/notes/);
    assert.match(drift.stdout, /-edited by hand/);
    const replan = await runCli(['plan', env, ...keys], { cwd: root });
    assert.equal(replan.code, 2);
    assert.match(replan.stdout, /~\s+real\/File\/notes/);
  });
});
