/**
 * The winrm driver against the WinRM simulator: read / create / update /
 * delete / converge for every kind, metacharacters as data, batching,
 * authentication and certificate pinning, fault injection.
 */
import assert from 'node:assert/strict';
import type { Change } from '../../engine/types.js';
import { DriverError } from '../../engine/types.js';
import { winrmDriver, type RunningWinrmSimulator } from '../../providers/servers/winrm/index.js';
import type { WindowsModel } from '../../providers/servers/winrm/simulator/model.js';
import { converge, expand, planChanges, planOnly, readRequest, resource, startLab, withWriter, type Lab } from './helpers.js';

const BASE = 'C:\\Shares';
const METAS = [
  "'; Remove-Item C:\\ -Recurse; '",
  '$(Remove-Item C:\\ -Recurse)',
  '</s:Envelope><s:Body>',
  ']]><![CDATA[',
  '"double" \'single\' `backtick` $env:PATH ${x} @(1) & | ; < > %PATH% ^',
  'unicode: Grüße, 日本語, emoji 😀, RTL \u202e, NBSP\u00a0',
  "line1\r\nline2\nline3\ttab",
  "__EINKLANG_PAYLOAD__ $payload = 'x'",
];

describe('winrm driver against the simulator', function () {
  this.timeout(30_000);
  let lab: Lab;
  let model: WindowsModel;
  let sim: RunningWinrmSimulator;

  before(async () => {
    lab = await startLab();
    sim = lab.sim;
    model = sim.model;
    model.directories.set(BASE, { path: BASE, owner: 'Administrators', group: 'None' });
  });
  after(() => lab?.stop());

  it('reads all requested objects with ONE script on one shell', async () => {
    const desired = expand([
      resource('File', 'a', { path: `${BASE}\\a.txt`, content: 'a' }),
      resource('Directory', 'd', { path: `${BASE}\\d` }),
      resource('User', 'bob', {}),
      resource('Group', 'staff', {}),
      resource('Service', 'Spooler', { state: 'running' }),
      resource('WindowsFeature', 'Web-Server', {}),
      resource('RegistryValue', 'smb1', { path: 'HKLM:\\SYSTEM\\CurrentControlSet\\Services\\LanmanServer\\Parameters', name: 'SMB1', type: 'DWord', data: 0 }),
    ]);
    const before = { ...sim.simulator.stats };
    const logBefore = model.log.length;
    const r = await winrmDriver.connectReader(lab.target);
    try {
      const res = await r.read(readRequest(desired));
      assert.equal(Object.keys(res.objects).length, desired.length);
      assert.deepEqual(res.objects['Service\u0000Spooler']?.state, { enabled: true, state: 'running' });
      assert.deepEqual(res.objects['RegistryValue\u0000HKLM:\\SYSTEM\\CurrentControlSet\\Services\\LanmanServer\\Parameters\\SMB1']?.state, {
        path: 'HKLM:\\SYSTEM\\CurrentControlSet\\Services\\LanmanServer\\Parameters',
        name: 'SMB1',
        type: 'DWord',
        data: 1,
      });
      await r.read(readRequest(desired));
    } finally {
      await r.close();
    }
    const delta = (k: string) => (sim.simulator.stats[k] ?? 0) - (before[k] ?? 0);
    assert.equal(delta('Create'), 1, 'one shell for the session');
    assert.equal(delta('Command'), 2, 'one command per read() call');
    assert.equal(delta('Delete'), 1);
    assert.deepEqual(model.log.slice(logBefore).map((l) => l.op), ['read', 'read']);
  });

  it('creates files and directories byte for byte, then converges', async () => {
    const binary = Buffer.from([0, 1, 2, 0xff, 0xfe, 0x0d, 0x0a, 0]);
    const desired = expand([
      resource('Directory', 'shares-data', { path: `${BASE}\\Daten\\Verwaltung` }),
      resource('File', 'readme', { path: `${BASE}\\Daten\\Verwaltung\\LIESMICH.txt`, content: 'Grüße\r\nzweite Zeile\n' }),
      resource('File', 'bin', { path: `${BASE}\\blob.bin`, contentBase64: binary.toString('base64') }),
      resource('File', 'empty', { path: `${BASE}\\empty.txt`, content: '' }),
    ]);
    const changes = await converge(lab.target, desired);
    assert.deepEqual(changes.map((c) => `${c.kind} ${c.actions}`), ['Directory create', 'File create', 'File create', 'File create']);
    assert.ok(model.directories.has(`${BASE}\\Daten`), 'missing parents created');
    assert.equal(model.files.get(`${BASE}\\Daten\\Verwaltung\\LIESMICH.txt`)!.content.toString('utf8'), 'Grüße\r\nzweite Zeile\n');
    assert.deepEqual(model.files.get(`${BASE}\\blob.bin`)!.content, binary);
    assert.equal(model.files.get(`${BASE}\\empty.txt`)!.content.length, 0);
  });

  it('updates a file that drifted, and treats content/contentBase64 of the same bytes as equal', async () => {
    model.files.get(`${BASE}\\empty.txt`)!.content = Buffer.from('edited by hand');
    const desired = expand([resource('File', 'empty', { path: `${BASE}\\empty.txt`, content: '' })]);
    const [c] = await planOnly(lab.target, desired);
    assert.deepEqual(c.actions, ['update']);
    assert.deepEqual(c.diff, [{ path: '/content', before: 'edited by hand', after: '' }]);
    await converge(lab.target, desired);
    const same = expand([resource('File', 'readme', { path: `${BASE}\\Daten\\Verwaltung\\LIESMICH.txt`, contentBase64: Buffer.from('Grüße\r\nzweite Zeile\n').toString('base64') })]);
    assert.deepEqual(await planOnly(lab.target, same), []);
  });

  it('passes PowerShell and XML metacharacters through as data, byte for byte', async () => {
    const resources = METAS.flatMap((m, i) => [
      resource('File', `meta${i}`, { path: `${BASE}\\meta${i}.txt`, content: m }),
      resource('RegistryValue', `meta${i}`, { path: 'HKLM:\\SOFTWARE\\einklang\\Meta', name: `v${i}`, type: 'String', data: m }),
    ]);
    resources.push(resource('RegistryValue', 'multi', { path: 'HKLM:\\SOFTWARE\\einklang\\Meta', name: 'multi', type: 'MultiString', data: METAS.filter((m) => m !== '') }));
    const desired = expand(resources);
    await converge(lab.target, desired);
    METAS.forEach((m, i) => {
      assert.equal(model.files.get(`${BASE}\\meta${i}.txt`)!.content.toString('utf8'), m);
      assert.equal(model.registry.get('HKLM:\\SOFTWARE\\einklang\\Meta')!.values.get(`v${i}`)!.data, m);
    });
    assert.deepEqual(model.registry.get('HKLM:\\SOFTWARE\\einklang\\Meta')!.values.get('multi')!.data, METAS);
    // nothing was executed: C:\ is still there and every operation was one of the driver's
    assert.ok(model.directories.has('C:\\Windows'));
    assert.ok(model.log.every((l) => l.ok));
  });

  it('manages a local user in a group, membership from both sides', async () => {
    const desired = expand([
      resource('Group', 'Lehrkraefte', { members: [] }),
      resource('Group', 'Verwaltung-IT', {}),
      resource('User', 'anna', { comment: 'Anna Müller', groups: ['Verwaltung-IT', 'Users'] }),
      resource('File', 'owned', { path: `${BASE}\\anna.txt`, content: 'x', owner: 'anna', group: 'Verwaltung-IT' }),
    ]);
    const changes = await converge(lab.target, desired);
    assert.deepEqual(changes.map((c) => `${c.kind} ${c.id} ${c.actions}`), ['Group Lehrkraefte create', 'Group Verwaltung-IT create', 'User anna create', 'File C:\\Shares\\anna.txt create']);
    assert.equal(model.users.get('anna')!.fullName, 'Anna Müller');
    assert.deepEqual(model.groups.get('Verwaltung-IT')!.members, ['anna']);
    assert.deepEqual(model.groups.get('Users')!.members, ['anna']);
    assert.equal(model.files.get(`${BASE}\\anna.txt`)!.owner, 'anna');

    // case differences are no drift on Windows
    assert.deepEqual(await planOnly(lab.target, expand([resource('User', 'anna', { groups: ['verwaltung-it', 'USERS'] })])), []);

    const update = expand([
      resource('User', 'anna', { groups: ['Lehrkraefte'], comment: 'Anna M.' }),
      resource('Group', 'Verwaltung-IT', { members: ['Administrator'] }),
    ]);
    const up = await converge(lab.target, update);
    assert.deepEqual(up.map((c) => c.actions.join()), ['update', 'update']);
    assert.deepEqual(model.groups.get('Lehrkraefte')!.members, ['anna']);
    assert.deepEqual(model.groups.get('Users')!.members, [], 'removed from groups not listed');
    assert.deepEqual(model.groups.get('Verwaltung-IT')!.members, ['Administrator']);
  });

  it('fails a user whose group does not exist, and leaves nothing behind', async () => {
    const desired = expand([resource('User', 'ghost', { groups: ['NoSuchGroup'] })]);
    await withWriter(lab.target, async (w) => {
      const [c] = planChanges(desired, await w.read(readRequest(desired)));
      await assert.rejects(w.applyChange!(c), (e: Error) => e instanceof DriverError && /group NoSuchGroup does not exist/.test(e.message));
    });
    assert.equal(model.users.get('ghost'), undefined);
  });

  it('manages services: start mode and state; absent = stopped and disabled', async () => {
    const desired = expand([
      resource('Service', 'W32Time', { enabled: true, state: 'running' }),
      resource('Service', 'Spooler', { ensure: 'absent' }),
      resource('Service', 'RemoteRegistry', { enabled: false, state: 'stopped' }),
    ]);
    const changes = await converge(lab.target, desired);
    assert.deepEqual(changes.map((c) => `${c.id} ${c.actions}`), ['W32Time update', 'Spooler delete', 'RemoteRegistry create']);
    assert.deepEqual(model.services.get('W32Time'), { name: 'W32Time', startType: 'Automatic', status: 'Running' });
    assert.deepEqual(model.services.get('Spooler'), { name: 'Spooler', startType: 'Disabled', status: 'Stopped' });
    assert.deepEqual(model.services.get('RemoteRegistry'), { name: 'RemoteRegistry', startType: 'Manual', status: 'Stopped' });
    await assert.rejects(converge(lab.target, expand([resource('Service', 'NoSuchSvc', { state: 'running' })])), /service NoSuchSvc is not installed/);
  });

  it('installs and removes Windows features', async () => {
    const desired = expand([resource('WindowsFeature', 'web-server', {}), resource('WindowsFeature', 'Telnet-Client', {}), resource('WindowsFeature', 'FS-FileServer', { ensure: 'absent' })]);
    const changes = await converge(lab.target, desired);
    assert.deepEqual(changes.map((c) => `${c.id} ${c.actions}`), ['web-server create', 'Telnet-Client create', 'FS-FileServer delete']);
    assert.equal(model.features.get('Web-Server')!.installed, true);
    assert.equal(model.features.get('FS-FileServer')!.installed, false);
    assert.deepEqual(model.services.get('W3SVC')?.status, 'Running', 'the feature brought its service');
    await assert.rejects(converge(lab.target, expand([resource('WindowsFeature', 'No-Such-Feature', {})])), /not available/);
  });

  it('manages registry values of every type, type changes and deletes', async () => {
    const K = 'HKLM:\\SOFTWARE\\Policies\\einklang\\Baseline';
    const desired = expand([
      resource('RegistryValue', 's', { path: K, name: 'Text', type: 'String', data: 'hello' }),
      resource('RegistryValue', 'e', { path: 'HKEY_LOCAL_MACHINE\\SOFTWARE\\Policies\\einklang\\Baseline', name: 'Expand', type: 'ExpandString', data: '%SystemRoot%\\x' }),
      resource('RegistryValue', 'd', { path: K, name: 'DWord', type: 'DWord', data: 4294967295 }),
      resource('RegistryValue', 'dh', { path: K, name: 'DWordHex', type: 'DWord', data: '0x10' }),
      resource('RegistryValue', 'q', { path: K, name: 'QWord', type: 'QWord', data: '18446744073709551615' }),
      resource('RegistryValue', 'm', { path: K, name: 'Multi', type: 'MultiString', data: ['a', 'b c'] }),
      resource('RegistryValue', 'b', { path: K, name: 'Bin', type: 'Binary', data: '01 FF 3a' }),
      resource('RegistryValue', 'def', { path: K, name: '', type: 'String', data: 'default value' }),
      resource('RegistryValue', 'smb1', { path: 'HKLM:\\SYSTEM\\CurrentControlSet\\Services\\LanmanServer\\Parameters', name: 'SMB1', type: 'DWord', data: 0 }),
    ]);
    const changes = await converge(lab.target, desired);
    assert.deepEqual(changes.map((c) => c.actions.join()), ['create', 'create', 'create', 'create', 'create', 'create', 'create', 'create', 'update']);
    const vals = model.registry.get(K)!.values;
    assert.deepEqual(vals.get('DWord'), { name: 'DWord', type: 'DWord', data: 4294967295 });
    assert.deepEqual(vals.get('DWordHex')!.data, 16);
    assert.deepEqual(vals.get('QWord')!.data, '18446744073709551615');
    assert.deepEqual(vals.get('Bin')!.data, '01ff3a');
    assert.deepEqual(vals.get('Expand')!.data, '%SystemRoot%\\x');
    assert.deepEqual(vals.get('')!.data, 'default value');

    const changed = expand([
      resource('RegistryValue', 's', { path: K, name: 'Text', type: 'DWord', data: 7 }),
      resource('RegistryValue', 'm', { path: K, name: 'Multi', ensure: 'absent' }),
    ]);
    const c2 = await converge(lab.target, changed);
    assert.deepEqual(c2.map((c) => c.actions.join()), ['update', 'delete']);
    assert.deepEqual(vals.get('Text'), { name: 'Text', type: 'DWord', data: 7 });
    assert.equal(vals.get('Multi'), undefined);
    assert.ok(model.registry.has(K), 'deleting a value keeps its key');
  });

  it('deletes what is declared absent (directories only when empty)', async () => {
    const notEmpty = expand([resource('Directory', 'shares-data', { path: `${BASE}\\Daten\\Verwaltung`, ensure: 'absent' })]);
    await assert.rejects(converge(lab.target, notEmpty), /is not empty/);
    const desired = expand([
      resource('File', 'readme', { path: `${BASE}\\Daten\\Verwaltung\\LIESMICH.txt`, ensure: 'absent' }),
      resource('File', 'owned', { path: `${BASE}\\anna.txt`, ensure: 'absent' }),
      resource('Directory', 'shares-data', { path: `${BASE}\\Daten\\Verwaltung`, ensure: 'absent' }),
      resource('User', 'anna', { ensure: 'absent' }),
      resource('Group', 'Lehrkraefte', { ensure: 'absent' }),
    ]);
    const changes = await converge(lab.target, desired);
    assert.ok(changes.every((c) => c.actions.join() === 'delete'));
    assert.equal(changes.length, 5);
    assert.equal(model.users.get('anna'), undefined);
    assert.equal(model.directories.get(`${BASE}\\Daten\\Verwaltung`), undefined);
    assert.deepEqual(await planOnly(lab.target, desired), []);
  });

  it('refuses unsafe ids at the driver too, without reaching the host', async () => {
    const before = model.log.length;
    await withWriter(lab.target, async (w) => {
      for (const id of ['relative\\path.txt', 'C:\\x\\..\\Windows\\evil.txt', 'C:\\x\nRemove-Item']) {
        const c: Change = { address: 'x', resource: 'x', kind: 'File', target: lab.target.address, id, actions: ['create'], before: null, after: { content: 'x' }, diff: [], liveFingerprint: '', dependsOn: [] };
        await assert.rejects(w.applyChange!(c), (e: Error) => e instanceof DriverError && e.opts.code === 'E_UNSAFE_VALUE');
        await assert.rejects(w.read([{ kind: 'File', id, state: {} }]), DriverError);
      }
      const mode: Change = { address: 'x', resource: 'x', kind: 'File', target: lab.target.address, id: `${BASE}\\m.txt`, actions: ['create'], before: null, after: { mode: '0644' }, diff: [], liveFingerprint: '', dependsOn: [] };
      await assert.rejects(w.applyChange!(mode), /mode is not supported on Windows/);
    });
    assert.equal(model.log.length, before);
  });

  it('handles large outputs over several Receives (4 MiB file, UTF-8)', async () => {
    const big = 'äöü€ einklang 😀\r\n'.repeat(200_000);
    const desired = expand([resource('File', 'big', { path: `${BASE}\\big.txt`, content: big })]);
    const before = sim.simulator.stats.Receive ?? 0;
    await converge(lab.target, desired);
    assert.equal(model.files.get(`${BASE}\\big.txt`)!.content.toString('utf8'), big);
    assert.ok((sim.simulator.stats.Send ?? 0) > 40, 'stdin sent in chunks');
    assert.ok((sim.simulator.stats.Receive ?? 0) - before > 40, 'output received in chunks');
  });

  it('recreates its shell when the server lost it', async () => {
    await withWriter(lab.target, async (w) => {
      await w.read([{ kind: 'User', id: 'Administrator', state: {} }]);
      sim.simulator.shells.clear();
      const r = await w.read([{ kind: 'User', id: 'Administrator', state: {} }]);
      assert.ok(r.objects['User\u0000Administrator']);
    });
  });
});

describe('winrm authentication, pinning and transport security', function () {
  this.timeout(30_000);

  for (const [transport, auth] of [['https', 'ntlm'], ['https', 'basic'], ['http', 'ntlm'], ['http', 'basic']] as const) {
    it(`${transport} + ${auth}: works with the right password, clear error and no change with a wrong one`, async () => {
      const lab = await startLab({ transport, auth });
      try {
        const r = await winrmDriver.connectReader(lab.target);
        assert.ok((await r.read([{ kind: 'Group', id: 'Administrators', state: {} }])).objects['Group\u0000Administrators']);
        await r.close();
        const wrong = { ...lab.target, connection: { ...lab.target.connection, password: 'wrong' } };
        await assert.rejects(
          winrmDriver.connectWriter(wrong),
          (e: Error) => e instanceof DriverError && e.opts.code === 'E_AUTH' && /authentication failed for user "Administrator"/.test(e.message) && !e.message.includes('wrong'),
        );
        const wrongUser = { ...lab.target, connection: { ...lab.target.connection, user: 'mallory' } };
        await assert.rejects(winrmDriver.connectReader(wrongUser), (e: Error) => e instanceof DriverError && e.opts.code === 'E_AUTH');
        assert.deepEqual(lab.sim.model.log.map((l) => l.op), ['read'], 'nothing ran with wrong credentials');
      } finally {
        await lab.stop();
      }
    });
  }

  it('refuses a certificate that does not match the pinned fingerprint, before sending anything', async () => {
    const lab = await startLab();
    try {
      const wrong = { ...lab.target, connection: { ...lab.target.connection, tlsFingerprint: 'sha256:' + '00'.repeat(32) } };
      await assert.rejects(
        winrmDriver.connectWriter(wrong),
        (e: Error) => e instanceof DriverError && e.opts.code === 'E_TLS_FINGERPRINT' && /fingerprint mismatch/.test(e.message) && /Nothing was sent/.test(e.message),
      );
      assert.deepEqual(lab.sim.simulator.stats, {}, 'no request reached the server');
      // the pin accepts the other spellings of the same fingerprint
      const lower = { ...lab.target, connection: { ...lab.target.connection, tlsFingerprint: lab.sim.fingerprint!.replace(/:/g, '').toLowerCase() } };
      await (await winrmDriver.connectReader(lower)).close();
      // without a pin the self-signed lab certificate is not trusted
      const unpinned = { ...lab.target, connection: { ...lab.target.connection, tlsFingerprint: undefined } };
      await assert.rejects(winrmDriver.connectReader(unpinned), (e: Error) => e instanceof DriverError && e.opts.code === 'E_TLS');
    } finally {
      await lab.stop();
    }
  });

  it('refuses plain HTTP unless allowUnencrypted, and validateConnection says so', async () => {
    const lab = await startLab({ transport: 'http', auth: 'basic' });
    try {
      const strict = { ...lab.target, connection: { ...lab.target.connection, allowUnencrypted: undefined } };
      await assert.rejects(winrmDriver.connectReader(strict), (e: Error) => e instanceof DriverError && e.opts.code === 'E_UNENCRYPTED');
      assert.deepEqual(lab.sim.simulator.stats, {});
    } finally {
      await lab.stop();
    }
    const res = (connection: Record<string, unknown>) => ({
      ...resource('Server', 'win-01', {}),
      spec: { os: 'windows', connection: { driver: 'winrm', host: '127.0.0.1', user: 'Administrator', password: '${secret:WIN}', ...connection } },
    });
    const codes = (connection: Record<string, unknown>) => winrmDriver.validateConnection!(res(connection)).map((d) => `${d.severity} ${d.code}`);
    assert.deepEqual(codes({ transport: 'http', auth: 'basic', allowUnencrypted: true }), ['warning W_UNENCRYPTED']);
    assert.deepEqual(codes({ transport: 'http', auth: 'basic' }), ['error E_UNENCRYPTED']);
    assert.deepEqual(codes({ transport: 'http' }), ['error E_UNENCRYPTED']);
    assert.deepEqual(codes({ transport: 'https', tlsFingerprint: 'AB:'.repeat(31) + 'AB' }), []);
    assert.deepEqual(codes({}), ['warning W_TLS_UNPINNED']);
    assert.deepEqual(codes({ tlsFingerprint: 'nope' }), ['error E_TLS_FINGERPRINT_FORMAT']);
    assert.deepEqual(codes({ tlsFingerprint: 'AB'.repeat(32), password: 'literal' }), ['error E_PLAINTEXT_SECRET']);
  });
});

describe('winrm fault injection', function () {
  this.timeout(30_000);
  let lab: Lab;
  before(async () => {
    lab = await startLab();
  });
  after(() => lab?.stop());

  it('reports a dropped connection as a DriverError', async () => {
    const r = await winrmDriver.connectReader(lab.target);
    lab.sim.simulator.faults.dropConnections = 1;
    try {
      await assert.rejects(r.read([{ kind: 'User', id: 'Administrator', state: {} }]), (e: Error) => e instanceof DriverError && e.opts.code === 'E_CONNECTION_DROPPED');
    } finally {
      lab.sim.simulator.faults.dropConnections = 0;
      await r.close();
    }
  });

  it('a failed apply changes nothing and says why', async () => {
    lab.sim.simulator.faults.failApply = 1;
    const desired = expand([resource('User', 'carl', {})]);
    await withWriter(lab.target, async (w) => {
      const [c] = planChanges(desired, await w.read(readRequest(desired)));
      await assert.rejects(w.applyChange!(c), /apply-user failed: injected failure/);
    });
    assert.equal(lab.sim.model.users.get('carl'), undefined);
    await converge(lab.target, desired);
    assert.ok(lab.sim.model.users.get('carl'));
  });

  it('honours the timeout with latency injected', async () => {
    lab.sim.simulator.faults.latencyMs = 400;
    try {
      await assert.rejects(winrmDriver.connectReader(lab.target, { timeoutMs: 150 }), (e: Error) => e instanceof DriverError && e.opts.code === 'E_TIMEOUT');
      const r = await winrmDriver.connectReader(lab.target, { timeoutMs: 5000 });
      await r.close();
    } finally {
      lab.sim.simulator.faults.latencyMs = 0;
    }
  });
});
