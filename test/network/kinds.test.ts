/**
 * The network kinds: validation (values that reach a switch CLI, port
 * ranges, VLANs on the port's switch), expansion, protection from prune —
 * and one pass through the engine's loader, so that an injected description
 * is a positioned diagnostic (file:line:col) at validate time.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadWorkspace } from '../../engine/workspace.js';
import { defaultCatalog } from '../../cli/catalog.js';
import { expandPortSpec, formatVlanList, iosLongName, parseVlanList } from '../../providers/network/ports.js';
import { ENV, defs, expand, res, validate } from './helpers.js';

const sw = (name: string, driver = 'ios', labels: Record<string, string> = {}) =>
  res('Switch', name, { connection: { driver, host: '127.0.0.1', user: 'admin', password: '${secret:SW}' }, managementVlan: 10 }, labels);

function codes(resources: ReturnType<typeof res>[]): string[] {
  return validate(resources).map((d) => d.code);
}

describe('network kinds', () => {
  describe('port specs', () => {
    it('expands IOS and AOS-CX ranges into canonical port ids', () => {
      const a = expandPortSpec('Gi1/0/1-24');
      assert.ok(a.ok && a.ports.length === 24 && a.ports[0] === 'Gi1/0/1' && a.ports[23] === 'Gi1/0/24' && a.style === 'ios');
      const b = expandPortSpec('GigabitEthernet1/0/5');
      assert.ok(b.ok && b.ports[0] === 'Gi1/0/5');
      const c = expandPortSpec('1/1/1-1/1/48');
      assert.ok(c.ok && c.ports.length === 48 && c.ports[47] === '1/1/48' && c.style === 'aoscx');
      const d = expandPortSpec('Gi1/0/1-2,Te1/1/1');
      assert.ok(d.ok && d.ports.join() === 'Gi1/0/1,Gi1/0/2,Te1/1/1');
      assert.equal(iosLongName('Te1/1/1'), 'TenGigabitEthernet1/1/1');
    });
    it('refuses bad ranges', () => {
      for (const bad of ['Gi1/0/24-1', 'Xy1/0/1', '1/1/1-1/2/4', 'Gi1/0/1-Te1/0/4', '1/1/1-5000', 'Gi1/0/1,1/1/1', 'Gi1/0/1,Gi1/0/1', '', 'Gi1/0/1\nvlan 2']) {
        assert.equal(expandPortSpec(bad).ok, false, bad);
      }
    });
    it('reads and writes VLAN lists', () => {
      assert.deepEqual(parseVlanList('1,12,15,31-33'), [1, 12, 15, 31, 32, 33]);
      assert.equal(parseVlanList('ALL'), 'all');
      assert.equal(formatVlanList([30, 10, 20, 21, 22, 40, 41]), '10,20-22,30,40,41');
    });
  });

  describe('validate', () => {
    const vlans = () => [
      sw('core-01'),
      sw('acc-01', 'aoscx', { role: 'access' }),
      res('Vlan', 'students', { id: 20, name: 'SCHUELER', switches: ['core-01'] }),
      res('Vlan', 'teachers', { id: 30, switches: { matchLabels: { role: 'access' } } }),
    ];

    it('accepts a clean network', () => {
      assert.deepEqual(codes([...vlans(), res('SwitchPort', 'p', { switch: 'core-01', ports: 'Gi1/0/1-24', mode: 'access', vlan: 'students', description: 'Klassenraum 1.12 (Nord)' })]), []);
    });

    it('refuses values that would smuggle commands into the CLI', () => {
      const cases: [string, string][] = [
        ['Klassenraum\nvlan 999', 'E_NET_CLI_UNSAFE'],
        ['Klassenraum\r\nend', 'E_NET_CLI_UNSAFE'],
        ['Raum ! no vlan 10', 'E_NET_CLI_UNSAFE'],
        ['Raum?', 'E_NET_CLI_UNSAFE'],
        ['bell\u0007', 'E_NET_CLI_UNSAFE'],
        ['Schüler', 'E_NET_CLI_UNSAFE'],
        [' leading', 'E_NET_CLI_UNSAFE'],
        ['x'.repeat(65), 'E_NET_TOO_LONG'],
      ];
      for (const [description, code] of cases) {
        const ds = validate([...vlans(), res('SwitchPort', 'p', { switch: 'core-01', ports: 'Gi1/0/1', mode: 'access', vlan: 'students', description })]);
        assert.deepEqual(ds.map((d) => d.code), [code], JSON.stringify(description));
        assert.equal(ds[0].severity, 'error');
      }
      assert.deepEqual(codes([sw('core-01'), res('Vlan', 'v', { id: 5, name: 'A\nno vlan 10', switches: ['core-01'] })]), ['E_NET_CLI_UNSAFE']);
      assert.deepEqual(codes([sw('core-01'), res('Vlan', 'v', { id: 5, name: 'zwei worte', switches: ['core-01'] })]), ['E_NET_VLAN_NAME']);
      assert.deepEqual(codes([sw('core-01'), res('Vlan', 'v', { id: 5, name: 'A'.repeat(33), switches: ['core-01'] })]), ['E_NET_TOO_LONG']);
    });

    it('checks port ranges and the switch naming style', () => {
      assert.deepEqual(codes([...vlans(), res('SwitchPort', 'p', { switch: 'core-01', ports: 'Gi1/0/9-1', mode: 'access' })]), ['E_NET_PORT_RANGE']);
      assert.deepEqual(codes([...vlans(), res('SwitchPort', 'p', { switch: 'core-01', ports: '1/1/1-1/1/4', mode: 'access' })]), ['E_NET_PORT_STYLE']);
      assert.deepEqual(codes([...vlans(), res('SwitchPort', 'p', { switch: 'acc-01', ports: '1/1/1-1/1/4', mode: 'access', vlan: 'teachers' })]), []);
    });

    it('requires every VLAN a port uses to exist on its switch', () => {
      const ds = validate([...vlans(), res('SwitchPort', 'p', { switch: 'acc-01', ports: '1/1/1', mode: 'trunk', nativeVlan: 'teachers', allowedVlans: ['teachers', 'students'] })]);
      assert.deepEqual(ds.map((d) => d.code), ['E_NET_VLAN_NOT_ON_SWITCH']);
      assert.match(ds[0].message, /students.*acc-01/);
    });

    it('checks mode-specific fields, overlapping ports, duplicate VLAN ids and subnets', () => {
      assert.deepEqual(codes([...vlans(), res('SwitchPort', 'p', { switch: 'core-01', ports: 'Gi1/0/1', mode: 'trunk', vlan: 'students' })]), ['E_NET_PORT_MODE']);
      assert.deepEqual(
        codes([...vlans(), res('SwitchPort', 'a', { switch: 'core-01', ports: 'Gi1/0/1-10', mode: 'access' }), res('SwitchPort', 'b', { switch: 'core-01', ports: 'Gi1/0/10-12', mode: 'access' })]),
        ['E_NET_PORT_OVERLAP', 'E_NET_PORT_OVERLAP'],
      );
      assert.deepEqual(codes([...vlans(), res('Vlan', 'dup', { id: 20, switches: ['core-01'] })]), ['E_NET_VLAN_DUPLICATE', 'E_NET_VLAN_DUPLICATE']);
      assert.deepEqual(codes([sw('core-01'), res('Vlan', 'v', { id: 5, subnet: '10.0.0.1/24', switches: ['core-01'] })]), ['E_NET_SUBNET']);
      assert.deepEqual(codes([sw('core-01'), res('Vlan', 'v', { id: 1, switches: ['core-01'], ensure: 'absent' })]), ['E_NET_VLAN_PROTECTED']);
    });
  });

  describe('expand', () => {
    it('puts a Vlan on every listed or selected switch and a port range on one object per port, with VLAN ids', () => {
      const rs = [
        sw('core-01'),
        sw('acc-01', 'ios', { role: 'access' }),
        sw('acc-02', 'ios', { role: 'access' }),
        res('Vlan', 'students', { id: 20, name: 'SCHUELER', switches: ['core-01', 'acc-01'] }),
        res('Vlan', 'mgmt', { id: 10, switches: { matchLabels: { role: 'access' } } }),
        res('SwitchPort', 'up', { switch: 'acc-01', ports: 'Te1/1/1-2', mode: 'trunk', nativeVlan: 'mgmt', allowedVlans: ['students', 'mgmt'] }),
        res('SwitchPort', 'room', { switch: 'acc-01', ports: 'Gi1/0/1-24', mode: 'access', vlan: 'students', enabled: true }),
      ];
      const objs = expand(rs);
      const vlan = objs.filter((o) => o.kind === 'Vlan');
      assert.deepEqual(vlan.map((o) => o.address).sort(), [
        `${ENV}/Vlan/mgmt[acc-01]`,
        `${ENV}/Vlan/mgmt[acc-02]`,
        `${ENV}/Vlan/students[acc-01]`,
        `${ENV}/Vlan/students[core-01]`,
      ]);
      const s = vlan.find((o) => o.address.endsWith('students[core-01]'))!;
      assert.equal(s.id, '20');
      assert.equal(s.target, `${ENV}/Switch/core-01`);
      assert.deepEqual(s.state, { id: 20, name: 'SCHUELER' });
      assert.deepEqual(vlan.find((o) => o.address.endsWith('mgmt[acc-02]'))!.state, { id: 10, name: 'mgmt' });
      const room = objs.filter((o) => o.resource === `${ENV}/SwitchPort/room`);
      assert.equal(room.length, 24);
      assert.equal(room[23].address, `${ENV}/SwitchPort/room[Gi1/0/24]`);
      assert.equal(room[23].id, 'Gi1/0/24');
      assert.deepEqual(room[0].state, { mode: 'access', accessVlan: 20, enabled: true });
      assert.ok(room[0].dependsOn.includes(`${ENV}/Switch/acc-01`) && room[0].dependsOn.includes(`${ENV}/Vlan/students`));
      const up = objs.filter((o) => o.resource === `${ENV}/SwitchPort/up`);
      assert.deepEqual(up[1].state, { mode: 'trunk', nativeVlan: 10, allowedVlans: [10, 20] });
    });

    it('never prunes VLAN 1, the management VLAN or ports', () => {
      const target = sw('core-01');
      const prot = defs.get('Vlan')!.protectedLive!;
      assert.equal(prot({ kind: 'Vlan', id: '1', state: {} }, target), true);
      assert.equal(prot({ kind: 'Vlan', id: '10', state: {} }, target), true);
      assert.equal(prot({ kind: 'Vlan', id: '99', state: {} }, target), false);
      assert.equal(defs.get('SwitchPort')!.protectedLive!({ kind: 'SwitchPort', id: 'Gi1/0/1', state: {} }, target), true);
    });

    it('imports an unmanaged VLAN as a manifest', () => {
      const m = defs.get('Vlan')!.importAs!({ kind: 'Vlan', id: '99', state: { id: 99, name: 'Alt_Netz' } }, sw('core-01'));
      assert.deepEqual(m, { name: 'alt-netz-99', spec: { id: 99, name: 'Alt_Netz', switches: ['core-01'] } });
    });
  });

  describe('through the engine loader', () => {
    let dir: string;
    before(() => {
      dir = mkdtempSync(join(tmpdir(), 'einklang-net-'));
    });
    after(() => rmSync(dir, { recursive: true, force: true }));

    it('an injected description is an error at validate with file:line:col of the value', async () => {
      const env = join(dir, 'schule-x');
      mkdirSync(env);
      writeFileSync(join(env, 'environment.yaml'), 'apiVersion: einklang/v1\nkind: Environment\nmetadata: { name: schule-x }\nspec: { zone: school }\n');
      const fp = 'SHA256:' + 'A'.repeat(43);
      writeFileSync(
        join(env, 'network.yaml'),
        [
          'apiVersion: einklang/v1',
          'kind: Switch',
          'metadata: { name: core-01 }',
          'spec:',
          `  connection: { driver: ios, host: 127.0.0.1, port: 2201, user: admin, password: "\${secret:SWITCH_PASSWORD}", hostKeyFingerprint: "${fp}" }`,
          '---',
          'apiVersion: einklang/v1',
          'kind: Vlan',
          'metadata: { name: students }',
          'spec: { id: 20, name: SCHUELER, switches: [core-01] }',
          '---',
          'apiVersion: einklang/v1',
          'kind: SwitchPort',
          'metadata: { name: classroom-ports }',
          'spec:',
          '  switch: core-01',
          '  ports: "Gi1/0/1-24"',
          '  mode: access',
          '  vlan: students',
          '  description: "Klassenraum\\nvlan 999"',
          '',
        ].join('\n'),
      );
      const ws = await loadWorkspace(defaultCatalog(), [env], { repositoryWide: false });
      const errors = ws.diagnostics.filter((d) => d.severity === 'error');
      assert.equal(errors.length, 1, JSON.stringify(ws.diagnostics));
      assert.equal(errors[0].code, 'E_NET_CLI_UNSAFE');
      assert.match(errors[0].pos!.file, /network\.yaml$/);
      assert.equal(errors[0].pos!.line, 20);
      assert.equal(errors[0].pos!.col, 16);
    });
  });
});
