/** Unit tests of the ssh driver's quoting, stdin protocol and output parsing, and of the simulator's refusals. */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ssh2 from 'ssh2';
import { objectKey, type TargetSpec } from '../../engine/types.js';
import { ed25519FromSeed, openSshPrivateKey } from '../../providers/lab/identity.js';
import { assertLineSafe, shq } from '../../providers/servers/linux/quote.js';
import { APPLY_COMMAND, READ_COMMAND, READ_SCRIPT, encodeApplyFields, encodeReadRequest, parseReadOutput } from '../../providers/servers/linux/protocol.js';
import { sshDriver } from '../../providers/servers/linux/driver.js';
import { ATTRS_SETTER, CONTENT_READER } from '../../providers/servers/linux/nofollow.js';
import { labHostKeyFingerprint } from '../../providers/servers/linux/simulator/server.js';
import { LinuxHostModel } from '../../providers/servers/linux/simulator/model.js';
import { freePort } from '../support/sshd.js';
import { defaultCatalog } from '../../cli/catalog.js';

/** A READ_SCRIPT v3 answer with these section lines. */
function answer(sec: { stat?: string[]; content?: string[]; passwd?: string[]; group?: string[]; dpkg?: string[]; systemd?: string[] }): string {
  const part = (name: keyof typeof sec) => [`@@${name}`, ...(sec[name] ?? [])];
  return ['@@einklang-read-begin v3', ...part('stat'), ...part('content'), ...part('passwd'), ...part('group'), ...part('dpkg'), ...part('systemd'), '@@einklang-read-end', ''].join('\n');
}

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
      { kind: 'User', id: 'ghost' },
      { kind: 'Group', id: 'staff' },
      { kind: 'Package', id: 'curl' },
      { kind: 'Package', id: 'gone' },
      { kind: 'Service', id: 'nginx' },
      { kind: 'Service', id: 'masked' },
      { kind: 'Service', id: 'unknown' },
    ];
    const out =
      'motd noise\n' +
      answer({
        passwd: ['alice:x:2001:2001:Alice A:/home/alice:/bin/bash'],
        group: ['root:x:0:', 'alice:x:2001:', 'web:x:2002:alice', 'staff:x:3000:bob,alice', 'other:x:3001:bob'],
        dpkg: ['curl|install ok installed|7.88.1', 'gone|deinstall ok config-files|1.0'],
        systemd: ['disabled', 'masked', '', 'active', 'inactive', 'inactive'],
      });
    const r = parseReadOutput(objects, out);
    assert.deepEqual(r.objects[objectKey('User', 'alice')]!.state, { uid: 2001, group: 'alice', groups: ['staff', 'web'], comment: 'Alice A', home: '/home/alice', shell: '/bin/bash' });
    assert.equal(r.objects[objectKey('User', 'ghost')], null);
    assert.deepEqual(r.objects[objectKey('Group', 'staff')]!.state, { gid: 3000, members: ['alice', 'bob'] });
    assert.deepEqual(r.objects[objectKey('Package', 'curl')]!.state, { version: '7.88.1' });
    assert.equal(r.objects[objectKey('Package', 'gone')], null);
    assert.deepEqual(r.objects[objectKey('Service', 'nginx')]!.state, { enabled: false, state: 'running' });
    assert.equal(r.objects[objectKey('Service', 'masked')], null);
    assert.equal(r.objects[objectKey('Service', 'unknown')], null);
    assert.throws(() => parseReadOutput(objects, out.replace('@@einklang-read-end\n', '')), /end marker|ended early/);
    assert.throws(() => parseReadOutput(objects, out.split('\n').slice(0, 6).join('\n')), /ended early/);
    assert.throws(() => parseReadOutput(objects, 'motd junk\n'), /begin marker/);
    assert.throws(() => parseReadOutput(objects, out.replace('@@einklang-read-begin v3', '@@einklang-read-begin v2')), /begin marker/, 'an answer of an older script is refused');
    assert.throws(() => parseReadOutput(objects, out.replace('inactive\n@@einklang', '@@einklang')), /systemctl output/, 'one line per unit and question');
  });

  it('computes primary and supplementary groups the way id -gn / id -Gn does', () => {
    const objects = [
      { kind: 'User', id: 'carol' },
      { kind: 'User', id: 'dave' },
    ];
    const out = answer({
      passwd: ['carol:x:2101:100:Carol:/home/carol:/bin/sh', 'dave:x:2102:4242::/srv/dave:/usr/sbin/nologin'],
      group: [
        'users:x:100:',
        'users2:x:100:carol', // same gid as the primary group: getgrgid names it "users"
        'adm:x:4:carol,dave',
        'adm:x:5:carol', // a second "adm": a lookup by name finds the first
      ],
    });
    const r = parseReadOutput(objects, out);
    assert.deepEqual(r.objects[objectKey('User', 'carol')]!.state, { uid: 2101, group: 'users', groups: ['adm'], comment: 'Carol', home: '/home/carol', shell: '/bin/sh' });
    // a primary gid without a group: id prints the number
    assert.deepEqual(r.objects[objectKey('User', 'dave')]!.state, { uid: 2102, group: '4242', groups: ['adm'], comment: '', home: '/srv/dave', shell: '/usr/sbin/nologin' });
  });

  it('sends the sha256 of the desired content, never the content, and only for Files', () => {
    const hash = (s: string) => createHash('sha256').update(s).digest('hex');
    const req = encodeReadRequest([
      { kind: 'File', id: '/etc/a b', state: { content: 'secret text\n', mode: '0600' } },
      { kind: 'File', id: '/etc/bin', state: { contentBase64: Buffer.from('secret text\n').toString('base64') } },
      { kind: 'File', id: '/etc/plain', state: { mode: '0644' } },
      { kind: 'File', id: '/etc/nostate' },
      { kind: 'File', id: '/etc/twice', state: { content: 'one' } },
      { kind: 'File', id: '/etc/twice', state: { content: 'two' } },
      { kind: 'Directory', id: '/etc/d', state: { mode: '0755' } },
      { kind: 'User', id: 'alice', state: { shell: '/bin/sh' } },
    ]);
    assert.equal(
      req,
      [`F${hash('secret text\n')} /etc/a b`, `F${hash('secret text\n')} /etc/bin`, 'F- /etc/plain', 'F- /etc/nostate', 'F- /etc/twice', 'F- /etc/twice', 'D/etc/d', 'Ualice', ''].join('\n'),
    );
    assert.ok(!req.includes('secret'));
  });

  it('the read script batches: odd paths, equal and changed content, a missing file, a directory where a file is expected', () => {
    const dir = mkdtempSync(join(tmpdir(), 'einklang-read2-'));
    try {
      const odd = ["a b", `it's "quoted"`, 'dollar $HOME $(id) `x`', 'ünïcödé 😀', 'back\\slash', 'trailing ', '-n', '*', 'x: OK', 'y: FAILED'];
      const objects: { kind: string; id: string; state: Record<string, unknown> }[] = [];
      for (const [i, name] of odd.entries()) {
        const p = join(dir, name);
        writeFileSync(p, `content ${i}\n`);
        objects.push({ kind: 'File', id: p, state: { content: `content ${i}\n` } }); // equal
      }
      writeFileSync(join(dir, 'changed'), 'on the host\n', { mode: 0o600 });
      writeFileSync(join(dir, 'changed bin'), Buffer.from([0, 1, 2, 0xff]));
      writeFileSync(join(dir, 'unmanaged content'), 'as is\n');
      writeFileSync(join(dir, 'empty'), '');
      mkdirSync(join(dir, 'a dir'));
      objects.push(
        { kind: 'File', id: join(dir, 'changed'), state: { content: 'declared\n' } },
        { kind: 'File', id: join(dir, 'changed bin'), state: { content: 'declared\n' } },
        { kind: 'File', id: join(dir, 'unmanaged content'), state: { mode: '0644' } },
        { kind: 'File', id: join(dir, 'empty'), state: { content: '' } },
        { kind: 'File', id: join(dir, 'missing'), state: { content: 'x' } },
        { kind: 'File', id: join(dir, 'missing too'), state: {} },
        { kind: 'File', id: join(dir, 'a dir'), state: { content: 'x' } },
        { kind: 'Directory', id: join(dir, 'a dir'), state: {} },
        { kind: 'Directory', id: join(dir, 'changed'), state: {} },
      );
      const stdout = execFileSync('sh', ['-c', READ_SCRIPT], { input: encodeReadRequest(objects), encoding: 'utf8' });
      const r = parseReadOutput(objects, stdout);
      const live = (kind: string, p: string) => r.objects[objectKey(kind, join(dir, p))];
      for (const [i, name] of odd.entries()) {
        assert.deepEqual(live('File', name)?.state, { mode: '0644', owner: 'root', group: 'root', content: `content ${i}\n` }, name);
        assert.ok(stdout.includes(`= ${join(dir, name)}\n`), `${name}: proven equal by its hash, not sent`);
      }
      assert.ok(!stdout.includes(Buffer.from('content 1\n').toString('base64')), 'equal content is not sent back');
      assert.deepEqual(live('File', 'changed')?.state, { mode: '0600', owner: 'root', group: 'root', content: 'on the host\n' });
      assert.deepEqual(live('File', 'changed bin')?.state, { mode: '0644', owner: 'root', group: 'root', contentBase64: 'AAEC/w==' });
      assert.equal(live('File', 'unmanaged content')?.state.content, 'as is\n');
      assert.equal(live('File', 'empty')?.state.content, '');
      assert.equal(live('File', 'missing'), null);
      assert.equal(live('File', 'missing too'), null);
      assert.deepEqual(live('File', 'a dir')?.state, { type: 'directory', mode: '0755', owner: 'root', group: 'root' });
      assert.deepEqual(live('Directory', 'a dir')?.state, { mode: '0755', owner: 'root', group: 'root' });
      assert.equal(live('Directory', 'changed')?.state.type, 'file');
      // the simulator answers the same requests the same way
      const m = new LinuxHostModel();
      assert.equal(m.runApply(`op=dir-create\npath=${join(dir, 'a dir')}\n`).code, 0);
      for (const o of objects) {
        const p = o.id;
        if (o.kind === 'File' && existsSync(p) && lstatSync(p).isFile()) m.writeFile(p, readFileSync(p), { mode: lstatSync(p).mode & 0o7777 });
      }
      const sim = parseReadOutput(objects, m.runRead(encodeReadRequest(objects)).stdout);
      assert.deepEqual(sim, r);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a symbolic link at a managed path: the script reads nothing through it, the parser refuses naming the path, the simulator agrees', () => {
    const dir = mkdtempSync(join(tmpdir(), 'einklang-link-'));
    try {
      const secret = 'TOPSECRET root-only\n';
      writeFileSync(join(dir, 'target'), secret, { mode: 0o600 });
      mkdirSync(join(dir, 'target-dir'));
      symlinkSync(join(dir, 'target'), join(dir, 'link'));
      symlinkSync(join(dir, 'target-dir'), join(dir, 'link-dir'));
      symlinkSync(join(dir, 'nowhere'), join(dir, 'dangling'));
      const m = new LinuxHostModel();
      m.files.set(dir, { type: 'dir', data: Buffer.alloc(0), mode: 0o755, uid: 0, gid: 0 });
      m.writeFile(join(dir, 'target'), secret, { mode: 0o600 });
      m.files.set(join(dir, 'target-dir'), { type: 'dir', data: Buffer.alloc(0), mode: 0o755, uid: 0, gid: 0 });
      m.symlink(join(dir, 'target'), join(dir, 'link'));
      m.symlink(join(dir, 'target-dir'), join(dir, 'link-dir'));
      m.symlink(join(dir, 'nowhere'), join(dir, 'dangling'));
      for (const [kind, name, state] of [
        ['File', 'link', { content: 'x' }],
        ['File', 'link', {}],
        ['File', 'dangling', { content: 'x' }],
        ['Directory', 'link-dir', {}],
        ['File', 'link-dir', {}],
      ] as [string, string, Record<string, unknown>][]) {
        const objects = [{ kind, id: join(dir, name), state }];
        for (const [who, stdout] of [
          ['real script', execFileSync('sh', ['-c', READ_SCRIPT], { input: encodeReadRequest(objects), encoding: 'utf8' })],
          ['simulator', m.runRead(encodeReadRequest(objects)).stdout],
        ]) {
          assert.match(stdout, new RegExp(`^symbolic link\\|777\\|.*\\|${join(dir, name)}$`, 'm'), `${who}: lstat, not stat`);
          assert.ok(!stdout.includes(Buffer.from(secret).toString('base64')) && !stdout.includes('TOPSECRET'), `${who}: nothing read through the link`);
          assert.doesNotMatch(stdout.split('@@content')[1].split('@@passwd')[0], /\S/, `${who}: no content record`);
          assert.throws(() => parseReadOutput(objects, stdout), (e: Error) => e.message.includes(`${kind} ${join(dir, name)} is a symbolic link`) && !e.message.includes('TOPSECRET'), `${who} ${kind} ${name}`);
        }
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('the O_NOFOLLOW helpers refuse a link on their own (the race after the shell check is closed too)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'einklang-nofollow-'));
    try {
      writeFileSync(join(dir, 'target'), 'TOPSECRET\n', { mode: 0o600 });
      writeFileSync(join(dir, 'plain'), 'plain\n', { mode: 0o600 });
      symlinkSync(join(dir, 'target'), join(dir, 'link'));
      const attrs = (path: string, ref = '') => spawnSync('perl', ['-e', ATTRS_SETTER, '--', path, 'f', '0666', '', '', ref], { encoding: 'utf8' });
      const refused = attrs(join(dir, 'link'));
      assert.equal(refused.status, 1);
      assert.match(refused.stderr, /link is a symbolic link/);
      assert.equal(attrs(join(dir, 'plain'), join(dir, 'link')).status, 1, 'a link as the reference is refused too');
      assert.equal(lstatSync(join(dir, 'target')).mode & 0o7777, 0o600);
      assert.equal(lstatSync(join(dir, 'plain')).mode & 0o7777, 0o600);
      assert.equal(attrs(join(dir, 'plain')).status, 0);
      assert.equal(lstatSync(join(dir, 'plain')).mode & 0o7777, 0o666, 'a regular file is changed');
      const read = spawnSync('perl', ['-e', CONTENT_READER], { input: `- ${join(dir, 'link')}\n- ${join(dir, 'plain')}\n`, encoding: 'utf8' });
      assert.equal(read.stdout, `c ${join(dir, 'plain')}\n${Buffer.from('plain\n').toString('base64')}\n`, 'only the regular file is read');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('the read script runs one stat, one sha256sum and one getent per database, however many objects', () => {
    const dir = mkdtempSync(join(tmpdir(), 'einklang-read3-'));
    try {
      // wrappers that log each call, then run the real command
      const bin = join(dir, 'bin');
      mkdirSync(bin);
      const log = join(dir, 'calls');
      for (const cmd of ['stat', 'perl', 'sha256sum', 'base64', 'getent', 'id', 'dpkg-query', 'systemctl']) {
        const real = execFileSync('sh', ['-c', `command -v ${cmd} || echo /bin/false`], { encoding: 'utf8' }).trim();
        writeFileSync(join(bin, cmd), `#!/bin/sh\necho ${cmd} >> ${shq(log)}\nexec ${real} "$@"\n`, { mode: 0o755 });
      }
      const objects: { kind: string; id: string; state: Record<string, unknown> }[] = [];
      for (let i = 0; i < 20; i++) {
        const p = join(dir, `f ${i}`);
        if (i < 10) writeFileSync(p, `v${i}\n`);
        objects.push({ kind: 'File', id: p, state: { content: `v${i}\n` } });
        objects.push({ kind: 'Directory', id: join(dir, `d ${i}`), state: {} });
      }
      writeFileSync(join(dir, 'changed'), 'old\n');
      objects.push({ kind: 'File', id: join(dir, 'changed'), state: { content: 'new\n' } });
      for (const u of ['root', 'daemon', 'nobody', 'no_such_user']) objects.push({ kind: 'User', id: u, state: {} });
      for (const g of ['root', 'adm']) objects.push({ kind: 'Group', id: g, state: {} });
      for (const p of ['coreutils', 'dash']) objects.push({ kind: 'Package', id: p, state: {} });
      const stdout = execFileSync('sh', ['-c', READ_SCRIPT], { input: encodeReadRequest(objects), encoding: 'utf8', env: { ...process.env, PATH: `${bin}:${process.env.PATH}` } });
      const r = parseReadOutput(objects, stdout);
      assert.equal(r.objects[objectKey('File', join(dir, 'f 3'))]?.state.content, 'v3\n');
      assert.equal(r.objects[objectKey('File', join(dir, 'f 13'))], null);
      assert.equal(r.objects[objectKey('File', join(dir, 'changed'))]?.state.content, 'old\n');
      assert.equal(r.objects[objectKey('User', 'root')]?.state.uid, 0);
      const calls = readFileSync(log, 'utf8').trim().split('\n').sort();
      assert.deepEqual(calls, ['base64', 'dpkg-query', 'getent', 'getent', 'perl', 'sha256sum', 'stat'], 'base64 only for the changed file');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('handles a path that vanishes between the checks, and refuses output it cannot account for', () => {
    const objects = [
      { kind: 'File', id: '/srv/a b', state: { content: 'x\n' } },
      { kind: 'File', id: '/srv/gone', state: { content: 'x\n' } },
      { kind: 'Directory', id: '/srv/d', state: {} },
    ];
    const out = (stat: string[], content: string[]) => answer({ stat, content });
    const statA = 'regular file|644|0|0|root|root|2|/srv/a b';
    const statD = 'directory|755|0|0|root|root|4096|/srv/d';
    // /srv/gone passed the -f test, then vanished before stat: stat skips it, the script lists it as gone
    const r = parseReadOutput(objects, out([statA, statD, '- /srv/gone'], ['c /srv/gone', '!', '= /srv/a b']));
    assert.equal(r.objects[objectKey('File', '/srv/gone')], null);
    assert.equal(r.objects[objectKey('File', '/srv/a b')]?.state.content, 'x\n');
    assert.throws(() => parseReadOutput(objects, out([statA, statD], ['= /srv/a b'])), /cannot stat \/srv\/gone/, 'neither stat nor gone');
    assert.throws(() => parseReadOutput(objects, out([statA, statD, '- /srv/gone'], [])), /no content read for \/srv\/a b/);
    assert.throws(() => parseReadOutput(objects, out([statA, statD, '- /srv/gone'], ['c /srv/a b', '!'])), /cannot read \/srv\/a b/);
    assert.throws(() => parseReadOutput(objects, out([statA, statD, '- /srv/gone', 'regular file|644|0|0|root|root|2|/etc/shadow'], ['= /srv/a b'])), /unexpected stat output/);
    assert.throws(() => parseReadOutput(objects, out([statA, statD, '- /srv/gone'], ['= /srv/a b', '= /srv/d'])), /unexpected content record/, 'content for a path not read as a File');
    const noHash = [{ kind: 'File', id: '/srv/a b', state: {} }];
    assert.throws(() => parseReadOutput(noHash, out([statA], ['= /srv/a b'])), /unexpected content match/, 'a match for a File that sent no hash');
    assert.equal(parseReadOutput(noHash, out([statA], ['c /srv/a b', 'eA=='])).objects[objectKey('File', '/srv/a b')]?.state.content, 'x');
    assert.throws(() => parseReadOutput(objects, out(['regular file|644|0|/srv/a b', statD, '- /srv/gone'], ['= /srv/a b'])), /unexpected stat output/);
  });

  it('the simulator model refuses unknown apply fields and operations', () => {
    const m = new LinuxHostModel();
    assert.equal(m.runApply('op=user-create\nname=a\nevil=1\n').code, 2);
    assert.equal(m.runApply('op=rm-rf\n').code, 1);
    assert.equal(m.runApply('op=user-create\nname=ektest_a\n').code, 0);
    assert.equal(m.runApply('op=user-create\nname=ektest_a\n').code, 9, 'useradd: user exists');
  });

  it('the ssh lab simulator serves the target on its port, with password auth, and refuses foreign commands', async () => {
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
    const sim = await (await defaultCatalog().driverEntry('ssh')!.loadLab!()).simulate(target, { resources: [] });
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
