/** Unit tests of the ssh driver's quoting, stdin protocol and output parsing, and of the simulator's refusals. */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ssh2 from 'ssh2';
import { objectKey, type TargetSpec } from '../../engine/types.js';
import { ed25519FromSeed, openSshPrivateKey } from '../../providers/lab/identity.js';
import { assertLineSafe, shq } from '../../providers/servers/linux/quote.js';
import { APPLY_COMMAND, READ_COMMAND, READ_SCRIPT, encodeApplyFields, encodeReadRequest, parseReadOutput } from '../../providers/servers/linux/protocol.js';
import { sshDriver } from '../../providers/servers/linux/driver.js';
import { labHostKeyFingerprint } from '../../providers/servers/linux/simulator/server.js';
import { LinuxHostModel } from '../../providers/servers/linux/simulator/model.js';
import { freePort } from '../support/sshd.js';

describe('ssh driver: quoting and protocol', () => {
  it('shq makes any string one literal shell word', () => {
    const nasty = ["it's", `"$HOME"`, '`id`', '$(id)', 'a;b', 'a\nb', "'", "''", '\\', '*', '!', ' lead', '', 'ü😀'];
    for (const s of nasty) {
      const out = execFileSync('sh', ['-c', `printf %s ${shq(s)}`], { encoding: 'utf8' });
      assert.equal(out, s);
    }
    assert.throws(() => shq('a\u0000b'), /NUL/);
  });

  it('refuses values that could break a protocol line', () => {
    assert.throws(() => assertLineSafe('path', '/a\nb'), /control character/);
    assert.throws(() => encodeReadRequest([{ kind: 'File', id: '/x\n/etc/shadow' }]), /control character/);
    assert.throws(() => encodeApplyFields({ op: 'user-create', name: 'a\nop=user-delete' }), /control character/);
    assert.throws(() => encodeReadRequest([{ kind: 'Vlan', id: '1' }]), /does not manage/);
    assert.equal(encodeApplyFields({ op: 'x', comment: 'a=b', skip: undefined }), 'op=x\ncomment=a=b\n');
  });

  it('the read script runs in a plain POSIX sh and lists a file byte for byte', () => {
    const dir = mkdtempSync(join(tmpdir(), 'einklang-read-'));
    try {
      const bytes = Buffer.from([0, 0x24, 0x28, 10, 0xff]);
      writeFileSync(join(dir, 'f'), bytes, { mode: 0o640 });
      const objects = [
        { kind: 'File', id: join(dir, 'f') },
        { kind: 'File', id: join(dir, 'missing') },
        { kind: 'Directory', id: dir },
        { kind: 'File', id: dir },
      ];
      const stdout = execFileSync('sh', ['-c', READ_SCRIPT], { input: encodeReadRequest(objects), encoding: 'utf8' });
      const r = parseReadOutput(objects, stdout);
      assert.deepEqual(r.objects[objectKey('File', join(dir, 'f'))]?.state.contentBase64, bytes.toString('base64'));
      assert.equal(r.objects[objectKey('File', join(dir, 'f'))]?.state.mode, '0640');
      assert.equal(r.objects[objectKey('File', join(dir, 'missing'))], null);
      assert.equal(r.objects[objectKey('Directory', dir)]?.state.mode, '0700');
      assert.equal(r.objects[objectKey('File', dir)]?.state.type, 'directory');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('parses users, groups, packages and services, and detects truncated output', () => {
    const objects = [
      { kind: 'User', id: 'alice' },
      { kind: 'Group', id: 'staff' },
      { kind: 'Package', id: 'curl' },
      { kind: 'Package', id: 'gone' },
      { kind: 'Service', id: 'nginx' },
      { kind: 'Service', id: 'masked' },
    ];
    const out = [
      '@@einklang-read-begin',
      'U alice:x:2001:2001:Alice A:/home/alice:/bin/bash',
      'g alice',
      'G alice web staff',
      'G staff:x:3000:bob,alice',
      'P install ok installed|7.88.1',
      'P deinstall ok config-files|1.0',
      'S disabled|active',
      'S masked|inactive',
      '@@einklang-read-end',
      '',
    ].join('\n');
    const r = parseReadOutput(objects, out);
    assert.deepEqual(r.objects[objectKey('User', 'alice')]!.state, { uid: 2001, group: 'alice', groups: ['staff', 'web'], comment: 'Alice A', home: '/home/alice', shell: '/bin/bash' });
    assert.deepEqual(r.objects[objectKey('Group', 'staff')]!.state, { gid: 3000, members: ['alice', 'bob'] });
    assert.deepEqual(r.objects[objectKey('Package', 'curl')]!.state, { version: '7.88.1' });
    assert.equal(r.objects[objectKey('Package', 'gone')], null);
    assert.deepEqual(r.objects[objectKey('Service', 'nginx')]!.state, { enabled: false, state: 'running' });
    assert.equal(r.objects[objectKey('Service', 'masked')], null);
    assert.throws(() => parseReadOutput(objects, out.replace('@@einklang-read-end\n', '')), /end marker|ended early/);
    assert.throws(() => parseReadOutput(objects, out.split('\n').slice(0, 4).join('\n')), /ended early/);
    assert.throws(() => parseReadOutput(objects, 'motd junk\n'), /begin marker/);
  });

  it('the simulator model refuses unknown apply fields and operations', () => {
    const m = new LinuxHostModel();
    assert.equal(m.runApply('op=user-create\nname=a\nevil=1\n').code, 2);
    assert.equal(m.runApply('op=rm-rf\n').code, 1);
    assert.equal(m.runApply('op=user-create\nname=ektest_a\n').code, 0);
    assert.equal(m.runApply('op=user-create\nname=ektest_a\n').code, 9, 'useradd: user exists');
  });

  it('Driver.simulate serves the target on its port, with password auth, and refuses foreign commands', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'einklang-simpw-'));
    const port = await freePort();
    const target: TargetSpec = {
      address: 'demo/Server/pw',
      kind: 'Server',
      name: 'pw',
      zone: 'administration',
      spec: { os: 'linux' },
      connection: { driver: 'ssh', host: '127.0.0.1', port, user: 'admin', password: 's3cret', hostKeyFingerprint: labHostKeyFingerprint('demo/Server/pw') },
    };
    const sim = await sshDriver.simulate!(target);
    try {
      assert.equal(sim.port, port);
      assert.match(sim.description, new RegExp(`ssh://127.0.0.1:${port}`));
      const r = await sshDriver.connectReader(target);
      const res = await r.read([{ kind: 'File', id: '/etc/hostname', state: {} }]);
      assert.equal(res.objects[objectKey('File', '/etc/hostname')]?.state.content, 'lab\n');
      assert.equal('applyChange' in r, false, 'a reader has no write methods');
      (sim.model as LinuxHostModel).faults.latencyMs = 150;
      const t0 = Date.now();
      await r.read([{ kind: 'User', id: 'root', state: {} }]);
      assert.ok(Date.now() - t0 >= 140, 'latency fault delays the answer');
      (sim.model as LinuxHostModel).faults.latencyMs = 0;
      await r.close();
      await assert.rejects(sshDriver.connectReader({ ...target, connection: { ...target.connection, password: 'wrong' } }), /cannot connect/);
      // a raw client may connect, but only the driver's two scripts run
      const keyFile = join(dir, 'k');
      writeFileSync(keyFile, openSshPrivateKey(ed25519FromSeed('x')));
      const c = new ssh2.Client();
      await new Promise<void>((res, rej) => {
        c.once('ready', () => res());
        c.once('error', rej);
        c.connect({ host: '127.0.0.1', port, username: 'admin', password: 's3cret' });
      });
      const run = (cmd: string) =>
        new Promise<{ code: number; err: string }>((res, rej) =>
          c.exec(cmd, (e, s) => {
            if (e) return rej(e);
            let err = '';
            let code = -1;
            s.stderr.on('data', (d: Buffer) => (err += d));
            s.on('exit', (x: number) => (code = x));
            s.on('close', () => res({ code, err }));
            s.resume();
            s.end();
          }),
        );
      assert.equal((await run('rm -rf /')).code, 127);
      assert.equal((await run(READ_COMMAND + ' ')).code, 127);
      assert.equal((await run(READ_COMMAND)).code, 0);
      assert.equal((await run(APPLY_COMMAND)).code, 1, 'no op given');
      c.end();
    } finally {
      await sim.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
