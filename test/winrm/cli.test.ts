/**
 * WinRM through the real CLI: a Windows server on WinRM's HTTP listener with
 * NTLM (how Windows is set up by default) converges without any exception in
 * the manifest (plan 2, apply 0, plan 0); Basic over plain HTTP is refused at
 * validate unless the connection allows it, and then the plan carries a warning.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { simulateWinrm } from '../../providers/servers/winrm/lab.js';
import { freePort } from '../support/sshd.js';
import { runCli, writeTree } from '../support/cli.js';

const PASSWORD = 'Lab-Passw0rd!';

function env(port: number, allow: boolean | undefined, auth: 'basic' | 'ntlm' = 'basic') {
  return writeTree({
    'envs/amt/environment.yaml': 'apiVersion: einklang/v1\nkind: Environment\nmetadata: { name: amt }\nspec: { zone: administration }\n',
    'envs/amt/win.yaml': `apiVersion: einklang/v1
kind: Server
metadata: { name: win-01 }
spec:
  os: windows
  connection: { driver: winrm, host: 127.0.0.1, port: ${port}, transport: http, auth: ${auth}, user: Administrator, password: "\${secret:WIN_PASSWORD}"${allow === undefined ? '' : `, allowUnencrypted: ${allow}`} }
---
apiVersion: einklang/v1
kind: RegistryValue
metadata: { name: llmnr }
spec: { server: win-01, path: 'HKLM:\\SOFTWARE\\Policies\\Microsoft\\Windows NT\\DNSClient', name: EnableMulticast, type: DWord, data: 0 }
`,
  });
}

describe('winrm through the CLI', function () {
  this.timeout(60_000);

  it('HTTP + NTLM without allowUnencrypted: validates clean, plans (2) without a warning, applies (0), re-plans (0)', async () => {
    const port = await freePort();
    const root = env(port, undefined, 'ntlm');
    // the lab host as Windows leaves it: AllowUnencrypted=false, Basic off
    const sim = await simulateWinrm({ address: 'amt/Server/win-01', kind: 'Server', name: 'win-01', zone: 'administration', spec: { os: 'windows' }, connection: { host: '127.0.0.1', port, transport: 'http', auth: 'ntlm', user: 'Administrator', password: PASSWORD } });
    try {
      const envVars = { EINKLANG_SECRET_ADMINISTRATION_WIN_PASSWORD: PASSWORD };
      const dir = join(root, 'envs/amt');
      const validate = await runCli(['validate', dir], { cwd: root });
      assert.equal(validate.code, 0, validate.stdout + validate.stderr);
      const planFile = join(root, 'plan.json');
      const plan = await runCli(['plan', dir, '--out', planFile], { cwd: root, env: envVars });
      assert.equal(plan.code, 2, plan.stdout + plan.stderr);
      assert.doesNotMatch(plan.stdout + plan.stderr, /warning|W_UNENCRYPTED/);
      const apply = await runCli(['apply', planFile], { cwd: root, env: envVars });
      assert.equal(apply.code, 0, apply.stdout + apply.stderr);
      const again = await runCli(['plan', dir], { cwd: root, env: envVars });
      assert.equal(again.code, 0, again.stdout + again.stderr);
      assert.ok(!(plan.stdout + plan.stderr + apply.stdout + apply.stderr).includes(PASSWORD));
      assert.equal(sim.simulator.messages.plain, 0, 'every message was encrypted');
      assert.ok(sim.simulator.messages.sealed > 0);
    } finally {
      await sim.stop();
    }
  });

  it('refuses Basic over plain HTTP at validate, with the position of the transport', async () => {
    const root = env(5985, undefined);
    const r = await runCli(['validate', join(root, 'envs/amt')], { cwd: root });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /envs\/amt\/win\.yaml:\d+:\d+: error E_UNENCRYPTED: /);
  });

  it('with allowUnencrypted: true, plans with a warning and converges against the lab', async () => {
    const port = await freePort();
    const root = env(port, true);
    const sim = await simulateWinrm({ address: 'amt/Server/win-01', kind: 'Server', name: 'win-01', zone: 'administration', spec: { os: 'windows' }, connection: { host: '127.0.0.1', port, transport: 'http', auth: 'basic', user: 'Administrator', password: PASSWORD, allowUnencrypted: true } });
    try {
      const envVars = { EINKLANG_SECRET_ADMINISTRATION_WIN_PASSWORD: PASSWORD };
      const dir = join(root, 'envs/amt');
      const planFile = join(root, 'plan.json');
      const plan = await runCli(['plan', dir, '--out', planFile], { cwd: root, env: envVars });
      assert.equal(plan.code, 2, plan.stdout + plan.stderr);
      assert.match(plan.stdout, /warning W_UNENCRYPTED/);
      assert.ok(!(plan.stdout + plan.stderr).includes(PASSWORD));
      const apply = await runCli(['apply', planFile], { cwd: root, env: envVars });
      assert.equal(apply.code, 0, apply.stdout + apply.stderr);
      const again = await runCli(['plan', dir], { cwd: root, env: envVars });
      assert.equal(again.code, 0, again.stdout + again.stderr);
    } finally {
      await sim.stop();
    }
  });
});
