/** IOS driver details: error patterns, VTP facts, port lists, the read-back comparison, echo and truncated prompts. */
import assert from 'node:assert/strict';
import { DriverError } from '../../engine/types.js';
import { CliSession } from '../../providers/network/cli-session.js';
import { iosError } from '../../providers/network/ios/errors.js';
import { iosCommands, iosDriver } from '../../providers/network/ios/driver.js';
import { parseShowVtpStatus } from '../../providers/network/ios/parsers.js';
import { iosHostKeyFingerprint, startIosSimulator } from '../../providers/network/ios/simulator/index.js';
import { defaultPort } from '../../providers/network/model.js';
import { describePorts } from '../../providers/network/read-check.js';
import type { RunningSwitchSimulator } from '../../providers/network/simcore.js';
import { readbackDifference } from '../../providers/network/transaction.js';
import { asTransactionWriter } from '../support/writers.js';

describe('ios driver details', () => {
  it('recognises refusals with and without "%", and lets informational "%" lines pass', () => {
    assert.equal(iosError('% Access VLAN does not exist. Creating vlan 30\n'), undefined);
    assert.equal(iosError('% Applying VLAN changes may take few minutes.  Please wait...\n'), undefined);
    assert.equal(iosError('%Warning: portfast should only be enabled on ports connected to a single host.\n'), undefined);
    assert.equal(iosError('Command rejected: An interface whose trunk encapsulation is "Auto" can not be configured to "trunk" mode.\n'), 'Command rejected: An interface whose trunk encapsulation is "Auto" can not be configured to "trunk" mode.');
    assert.equal(iosError('VTP VLAN configuration not allowed when device is in CLIENT mode.\n'), 'VTP VLAN configuration not allowed when device is in CLIENT mode.');
    assert.equal(iosError("            ^\n% Invalid input detected at '^' marker.\n"), "% Invalid input detected at '^' marker.");
    assert.equal(iosError('%Please turn config archive on\n'), '%Please turn config archive on');
    assert.equal(iosError('Building configuration...\n[OK]\n'), undefined);
  });

  it('reads the VTP mode and version from both show vtp status layouts', () => {
    assert.deepEqual(parseShowVtpStatus('VTP Version capable             : 1 to 3\nVTP version running             : 2\nFeature VLAN:\nVTP Operating Mode                : Server\n'), { mode: 'server', version: 2 });
    assert.deepEqual(parseShowVtpStatus('VTP Version                     : 2\nVTP Operating Mode              : Transparent\n'), { mode: 'transparent', version: 2 });
    assert.deepEqual(parseShowVtpStatus('% Invalid input\n'), { mode: undefined, version: undefined });
  });

  it('sets the trunk encapsulation before trunk mode only on ports that negotiate it', () => {
    const ops = [
      { op: 'port-set' as const, port: 'Gi1/0/47', set: { mode: 'trunk' as const, allowedVlans: [10, 20] } },
      { op: 'port-set' as const, port: 'Gi1/0/46', set: { mode: 'trunk' as const } },
    ];
    const cmds = iosCommands(ops, { negotiatedEncapsulation: ['Gi1/0/47'] });
    assert.deepEqual(cmds.slice(0, 5), ['interface GigabitEthernet1/0/47', 'switchport trunk allowed vlan 10,20', 'switchport trunk encapsulation dot1q', 'switchport mode trunk', 'exit']);
    assert.ok(!cmds.slice(5).includes('switchport trunk encapsulation dot1q'));
  });

  it('describes port lists compactly', () => {
    assert.equal(describePorts(['Gi1/0/2', 'Gi1/0/1', 'Gi1/0/3', 'Gi1/0/10', 'Te1/1/1', 'Te1/1/2']), 'Gi1/0/1-3, Gi1/0/10, Te1/1/1-2');
    assert.equal(describePorts(['1/1/1', '1/1/2', '1/1/52']), '1/1/1-2, 1/1/52');
  });

  it('the read-back compares what the ops touched with the plan', () => {
    const dev = { portDefault: () => defaultPort('dynamic auto') };
    const before = { hostname: 'sw', vlans: { '1': { name: 'default' } }, ports: { 'Gi1/0/1': defaultPort('dynamic auto'), 'Gi1/0/2': defaultPort('dynamic auto') } };
    const ops = [
      { op: 'vlan-set' as const, id: 20, name: 'SCHUELER' },
      { op: 'port-set' as const, port: 'Gi1/0/1', set: { mode: 'access' as const, accessVlan: 20 } },
    ];
    const good = structuredClone(before) as typeof before & { vlans: Record<string, { name: string }> };
    good.vlans['20'] = { name: 'SCHUELER' };
    good.ports['Gi1/0/1'] = { ...good.ports['Gi1/0/1'], mode: 'access', accessVlan: 20 };
    good.ports['Gi1/0/2'].description = 'drift elsewhere is not this change';
    assert.equal(readbackDifference(dev, before, ops, good), '');
    const ignored = structuredClone(good);
    ignored.ports['Gi1/0/1'].accessVlan = 1;
    ignored.vlans['20'].name = 'VLAN0020';
    assert.equal(readbackDifference(dev, before, ops, ignored), 'VLAN 20 named VLAN0020, not SCHUELER; port Gi1/0/1: accessVlan is 1, not 20');
  });

  describe('CLI session against the lab switch', () => {
    let sim: RunningSwitchSimulator;
    const address = 'cli/Switch/sw';
    const open = () =>
      CliSession.open(
        { host: '127.0.0.1', port: sim.port, user: 'admin', password: 'pw', hostKeyFingerprint: iosHostKeyFingerprint(address) },
        { timeoutMs: 3000, label: address, setup: ['terminal length 0'], requirePrivileged: true },
      );
    afterEach(() => sim?.stop());

    it('follows config-mode prompts that show only the first 20 characters of a long hostname', async () => {
      const hostname = 'gs-nord-etagenverteiler-haus-b-03';
      sim = await startIosSimulator({ address, kind: 'Switch', name: 'sw', zone: 'school', spec: {}, connection: { host: '127.0.0.1', user: 'admin', password: 'pw' } }, { hostname, listenPort: 0 });
      const s = await open();
      try {
        assert.equal(s.name, hostname);
        await s.run('configure terminal');
        await s.run('vlan 20');
        await s.run('name SCHUELER');
        await s.run('end');
        assert.equal(sim.model.running.vlans['20'].name, 'SCHUELER');
      } finally {
        s.close();
      }
    });

    it('refuses at plan time the VLAN ids the platform reserves: 1002-1005 always, extended ones in VTP server mode', async () => {
      const spec = { address, kind: 'Switch', name: 'sw', zone: 'school' as const, spec: {}, connection: { host: '127.0.0.1', user: 'admin', password: 'pw' } };
      for (const [vtpMode, id, why] of [
        ['transparent', '1003', /switch sw cannot have VLAN 1003: IOS reserves VLANs 1002-1005/],
        ['server', '2000', /switch sw cannot have VLAN 2000: extended-range VLANs need VTP mode transparent or off \(the switch is in VTP server mode/],
      ] as const) {
        sim = await startIosSimulator(spec, { listenPort: 0, vtpMode });
        const reader = await iosDriver.connectReader({ ...spec, connection: { ...spec.connection, port: sim.port, hostKeyFingerprint: iosHostKeyFingerprint(address) } }, { timeoutMs: 3000 });
        try {
          const err = await reader.read([{ kind: 'Vlan', id, state: { id: Number(id), name: 'X' } }]).catch((e) => e);
          assert.ok(err instanceof DriverError && err.opts.code === 'E_NET_VLAN_RESERVED', String(err));
          assert.match(err.message, why);
          assert.ok(await reader.read([{ kind: 'Vlan', id: '999', state: {} }]), 'a normal VLAN id reads');
        } finally {
          await reader.close();
          await sim.stop();
        }
      }
    });

    it('VTP server mode with allowVlanChangesWithoutRollback: VLAN changes apply, and a failed one is reported as not rolled back (vlan.dat)', async () => {
      const spec = {
        address,
        kind: 'Switch',
        name: 'sw',
        zone: 'school' as const,
        spec: { allowVlanChangesWithoutRollback: true },
        connection: { host: '127.0.0.1', user: 'admin', password: 'pw', revertMinutes: 1, rollbackWaitSeconds: 1 },
      };
      sim = await startIosSimulator(spec, { listenPort: 0, vtpMode: 'server', minuteMs: 2000 });
      const writer = asTransactionWriter(await iosDriver.connectWriter({ ...spec, connection: { ...spec.connection, port: sim.port, hostKeyFingerprint: iosHostKeyFingerprint(address) } }, { timeoutMs: 3000 }));
      const vlan = (id: number) => ({ address: `t/Vlan/v${id}[sw]`, resource: `t/Vlan/v${id}`, kind: 'Vlan', target: address, id: String(id), actions: ['create' as const], before: null, after: { id, name: `V${id}` }, diff: [], liveFingerprint: '', dependsOn: [] });
      try {
        await writer.applyTransaction([vlan(30)]);
        assert.equal(sim.model.running.vlans['30']?.name, 'V30');
        sim.model.faults.failCommit = true;
        const err = await writer.applyTransaction([vlan(31)]).catch((e) => e);
        assert.ok(err instanceof DriverError && err.opts.rolledBack === false, String(err));
        assert.match(err.message, /ROLLBACK NOT VERIFIED \(still differs: VLAN 31 present\)/);
      } finally {
        await writer.close();
      }
    });

    it('stops when the echo is not the command that was sent', async () => {
      sim = await startIosSimulator({ address, kind: 'Switch', name: 'sw', zone: 'school', spec: {}, connection: { host: '127.0.0.1', user: 'admin', password: 'pw' } }, { listenPort: 0 });
      const s = await open();
      try {
        sim.model.faults.lostInput = 'show clo'; // the switch loses the last character of the line
        const err = await s.run('show clock').catch((e) => e);
        assert.ok(err instanceof DriverError && err.opts.code === 'E_NET_ECHO', String(err));
        assert.equal(s.alive, false, 'the session is not used again');
      } finally {
        s.close();
      }
    });
  });
});
