/**
 * The winrm driver against the WinRM simulator, beyond the server
 * conformance suite (./conformance.test.ts, shared with Linux): the
 * Windows-only kinds WindowsFeature and RegistryValue, one script per read on
 * one shell, large outputs, lost shells, authentication and transport
 * security, fault injection.
 */
import assert from 'node:assert/strict';
import type { Change } from '../../engine/types.js';
import { DriverError } from '../../engine/types.js';
import { validateWinrmConnection, winrmDriver, type RunningWinrmSimulator } from '../../providers/servers/winrm/index.js';
import type { WindowsModel } from '../../providers/servers/winrm/simulator/model.js';
import { HOSTILE, WINDOWS } from '../servers/conformance.js';
import { converge, expand, planChanges, readRequest, resource, startLab, withWriter, type Lab } from './helpers.js';

const BASE = 'C:\\Shares';

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

  it('passes PowerShell and XML metacharacters through as data, byte for byte (registry values; files: conformance suite)', async () => {
    const K = 'HKLM:\\SOFTWARE\\einklang\\Meta';
    const resources = HOSTILE.map((m, i) => resource('RegistryValue', `meta${i}`, { path: K, name: `v${i}`, type: 'String', data: m }));
    resources.push(resource('RegistryValue', 'multi', { path: K, name: 'multi', type: 'MultiString', data: HOSTILE.filter((m) => m !== '') }));
    const desired = expand(resources);
    await converge(lab.target, desired);
    HOSTILE.forEach((m, i) => assert.equal(model.registry.get(K)!.values.get(`v${i}`)!.data, m));
    assert.deepEqual(model.registry.get(K)!.values.get('multi')!.data, HOSTILE);
    // nothing was executed: C:\ is still there and every operation was one of the driver's
    assert.ok(model.directories.has('C:\\Windows'));
    assert.ok(model.log.every((l) => l.ok));
  });

  it('round-trips Windows names: DOMAIN\\name members and owners, long group names, $ in service names', async () => {
    model.services.set('MSSQL$SQLEXPRESS', { name: 'MSSQL$SQLEXPRESS', startType: 'Manual', status: 'Stopped' });
    const desired = expand([
      resource('Group', 'Fernwartung-Lehrkraefte-Verwaltung', { members: ['BUILTIN\\Administrators', '.\\Administrator'] }),
      resource('User', 'wartung', { groups: ['Remote Management Users', 'BUILTIN\\Users'] }),
      resource('Group', 'Remote Management Users', { members: ['wartung', 'WIN-01\\Administrator'] }),
      resource('File', 'owned', { path: `${BASE}\\wartung.txt`, content: 'x', owner: 'BUILTIN\\Administrators', group: 'Remote Management Users' }),
      resource('Service', 'MSSQL$SQLEXPRESS', { enabled: true, state: 'running' }),
    ]);
    const changes = await converge(lab.target, desired);
    assert.deepEqual(changes.map((c) => `${c.kind} ${c.id} ${c.actions}`), [
      'Group Fernwartung-Lehrkraefte-Verwaltung create',
      'User wartung create',
      'Group Remote Management Users update',
      `File ${BASE}\\wartung.txt create`,
      'Service MSSQL$SQLEXPRESS update',
    ]);
    assert.deepEqual(model.groups.get('Fernwartung-Lehrkraefte-Verwaltung')!.members, ['Administrators', 'Administrator']);
    assert.deepEqual(model.groups.get('Remote Management Users')!.members, ['wartung', 'Administrator']);
    assert.deepEqual(model.groups.get('Users')!.members, ['wartung']);
    assert.equal(model.files.get(`${BASE}\\wartung.txt`)!.owner, 'Administrators');
    assert.deepEqual(model.services.get('MSSQL$SQLEXPRESS'), { name: 'MSSQL$SQLEXPRESS', startType: 'Automatic', status: 'Running' });
    // a domain the host does not know is an error of the host, not of validation
    await assert.rejects(converge(lab.target, expand([resource('Group', 'Fernwartung-Lehrkraefte-Verwaltung', { members: ['CONTOSO\\bob'] })])), /account CONTOSO\\bob does not exist/);
    await converge(lab.target, expand([resource('Group', 'Fernwartung-Lehrkraefte-Verwaltung', { ensure: 'absent' }), resource('User', 'wartung', { ensure: 'absent' })]));
    // the driver refuses what validation refuses in a service name, before the host sees it
    const before = model.log.length;
    await withWriter(lab.target, async (w) => {
      for (const id of ["MSSQL'x", 'MSSQL$(calc)', 'a;b', 'a\nb', 'a\\b']) {
        const c: Change = { address: 'x', resource: 'x', kind: 'Service', target: lab.target.address, id, actions: ['update'], before: {}, after: { state: 'running' }, diff: [], liveFingerprint: '', dependsOn: [] };
        await assert.rejects(w.applyChange(c), (e: Error) => e instanceof DriverError && e.opts.code === 'E_UNSAFE_VALUE', id);
      }
    });
    assert.equal(model.log.length, before);
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

  // a wrong and a missing pin are refused before anything is sent: conformance suite (WINDOWS profile)
  it('accepts the other spellings of the pinned fingerprint, and nothing else', async () => {
    const lab = await startLab();
    try {
      const wrong = { ...lab.target, connection: { ...WINDOWS.wrongPin(lab.target.connection) } };
      await assert.rejects(winrmDriver.connectWriter(wrong), (e: Error) => WINDOWS.isPinMismatch(e));
      assert.deepEqual(lab.sim.simulator.stats, {}, 'no request reached the server');
      const lower = { ...lab.target, connection: { ...lab.target.connection, tlsFingerprint: lab.sim.fingerprint!.replace(/:/g, '').toLowerCase() } };
      await (await winrmDriver.connectReader(lower)).close();
    } finally {
      await lab.stop();
    }
  });

  it('refuses Basic over plain HTTP unless allowUnencrypted, and validateConnection says so; NTLM over HTTP needs no exception', async () => {
    const lab = await startLab({ transport: 'http', auth: 'basic' });
    try {
      const strict = { ...lab.target, connection: { ...lab.target.connection, allowUnencrypted: undefined } };
      await assert.rejects(winrmDriver.connectReader(strict), (e: Error) => e instanceof DriverError && e.opts.code === 'E_UNENCRYPTED' && /auth: ntlm encrypts/.test(e.message));
      assert.deepEqual(lab.sim.simulator.stats, {});
    } finally {
      await lab.stop();
    }
    const res = (connection: Record<string, unknown>) => ({
      ...resource('Server', 'win-01', {}),
      spec: { os: 'windows', connection: { driver: 'winrm', host: '127.0.0.1', user: 'Administrator', password: '${secret:WIN}', ...connection } },
    });
    const codes = (connection: Record<string, unknown>) => validateWinrmConnection(res(connection)).map((d) => `${d.severity} ${d.code}`);
    assert.deepEqual(codes({ transport: 'http', auth: 'basic', allowUnencrypted: true }), ['warning W_UNENCRYPTED']);
    assert.deepEqual(codes({ transport: 'http', auth: 'basic' }), ['error E_UNENCRYPTED']);
    assert.deepEqual(codes({ transport: 'http' }), [], 'NTLM over HTTP: every message is encrypted, no warning');
    assert.deepEqual(codes({ transport: 'http', auth: 'ntlm', allowUnencrypted: true }), []);
    assert.deepEqual(codes({ transport: 'http', tlsFingerprint: 'AB'.repeat(32) }), ['warning W_TLS_FINGERPRINT_UNUSED']);
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

  it('a failed apply changes nothing and says why', async () => {
    lab.sim.simulator.faults.failApply = 1;
    const desired = expand([resource('User', 'carl', {})]);
    await withWriter(lab.target, async (w) => {
      const [c] = planChanges(desired, await w.read(readRequest(desired)));
      await assert.rejects(w.applyChange(c), /apply-user failed: injected failure/);
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

describe('winrm host quotas (MaxConcurrentOperationsPerUser, MaxShellsPerUser)', function () {
  this.timeout(30_000);

  it('a shell that used up its operations is replaced, once, and the old one closed', async () => {
    const lab = await startLab({ service: { maxConcurrentOperationsPerUser: 3 } });
    try {
      const desired = expand(['a', 'b', 'c', 'd', 'e'].map((n) => resource('User', `quota-${n}`, {})));
      const changes = await converge(lab.target, desired);
      assert.equal(changes.length, 5);
      for (const n of ['a', 'b', 'c', 'd', 'e']) assert.ok(lab.sim.model.users.get(`quota-${n}`));
      const { stats, shells } = lab.sim.simulator;
      assert.ok(stats.Create! > 2, `${stats.Create} shells: the writer's shell was replaced when its quota ran out`);
      assert.equal(stats.Create, stats.Delete, 'every shell was closed');
      assert.equal(shells.size, 0);
    } finally {
      await lab.stop();
    }
  });

  it('more sessions than MaxShellsPerUser: the host\'s refusal is reported as it is', async () => {
    const lab = await startLab({ service: { maxShellsPerUser: 1 } });
    try {
      const first = await winrmDriver.connectReader(lab.target);
      try {
        await assert.rejects(
          winrmDriver.connectReader(lab.target),
          (e: Error) => e instanceof DriverError && /maximum number of 1 concurrent shells, which has been exceeded/.test(e.message),
        );
      } finally {
        await first.close();
      }
      await (await winrmDriver.connectReader(lab.target)).close();
    } finally {
      await lab.stop();
    }
  });
});
