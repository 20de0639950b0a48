/**
 * The switch parsers against real device output: every .raw of the covered
 * commands must parse into what the .yml beside it says (ntc-templates test
 * data, read from ../shared at test time, never copied into the project).
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import {
  parseRunningConfigInterfaces,
  parseShowInterfacesSwitchport,
  parseShowVlan,
  parseShowVlans,
} from '../../providers/network/ios/parsers.js';
import { expandAoscxInterfaces, parseAoscxShowVlan } from '../../providers/network/aoscx/parsers.js';
import { switchConfigFromIos } from '../../providers/network/ios/parsers.js';
import { renderRunningConfig, renderShowInterfacesSwitchport, renderShowVlanBrief } from '../../providers/network/ios/simulator/render.js';
import { defaultPort } from '../../providers/network/model.js';
import { SwitchSim } from '../../providers/network/simcore.js';
import { corpusPath } from './shared.js';

const CORPUS = corpusPath('network', 'ntc-templates');

function cases(dir: string): { name: string; raw: string; expected: any[] }[] {
  const d = join(CORPUS, dir);
  return readdirSync(d)
    .filter((f) => f.endsWith('.raw'))
    .sort()
    .map((f) => ({
      name: f,
      raw: readFileSync(join(d, f), 'utf8'),
      expected: parseYaml(readFileSync(join(d, f.replace(/\.raw$/, '.yml')), 'utf8')).parsed_sample,
    }));
}

/** Compare parsed entries, mapped to the .yml field names, with those fields of the .yml entries. */
function check(c: { expected: any[] }, got: Record<string, unknown>[]): void {
  const keys = Object.keys(got[0] ?? {});
  const want = c.expected.map((e) => Object.fromEntries(keys.map((k) => [k, e[k]])));
  assert.deepEqual(got, want);
}

describe('network corpus parsers (ntc-templates)', function () {
  before(function () {
    assert.ok(existsSync(CORPUS), `corpus not found at ${CORPUS} (run the tests from the project root)`);
  });

  describe('cisco_ios show vlan', () => {
    for (const c of cases('cisco_ios/show_vlan')) {
      it(c.name, () => check(c, parseShowVlan(c.raw).map((v) => ({ vlan_id: v.vlanId, vlan_name: v.name, status: v.status, interfaces: v.interfaces }))));
    }
  });

  describe('cisco_ios show vlans', () => {
    const all = cases('cisco_ios/show_vlans');
    it('has the corpus files', () => assert.ok(all.length >= 10));
    for (const c of all) {
      it(c.name, () =>
        check(
          c,
          parseShowVlans(c.raw).map((v) => ({
            vlan_id: v.vlanId,
            interfaces: v.interfaces,
            inner_vlans: v.innerVlans,
            ip_addresses: v.ipAddresses,
            ipv6_addresses: v.ipv6Addresses,
          })),
        ),
      );
    }
  });

  describe('cisco_ios show interfaces switchport', () => {
    const all = cases('cisco_ios/show_interfaces_switchport');
    it('has the corpus files', () => assert.ok(all.length >= 8));
    for (const c of all) {
      it(c.name, () =>
        check(
          c,
          parseShowInterfacesSwitchport(c.raw).map((p) => ({
            interface: p.interface,
            switchport: p.switchport,
            switchport_negotiation: p.negotiation,
            mode: p.mode,
            admin_mode: p.adminMode,
            access_vlan: p.accessVlan,
            native_vlan: p.nativeVlan,
            voice_vlan: p.voiceVlan,
            trunking_vlans: p.trunkingVlans,
          })),
        ),
      );
    }
  });

  describe('cisco_ios show running-config interface', () => {
    for (const c of cases('cisco_ios/show_running-config_interface')) {
      it(c.name, () =>
        check(
          c,
          parseRunningConfigInterfaces(c.raw).map((i) => ({
            interface: i.interface,
            description: i.description,
            outer_vlan: i.outerVlan ?? '',
            inner_vlan: i.innerVlan ?? '',
            ip_address: i.ipAddress ?? '',
            netmask: i.netmask ?? '',
            vrf: i.vrf ?? '',
            mtu: i.mtu ?? '',
          })),
        ),
      );
    }
  });

  describe('aruba_aoscx show vlan', () => {
    for (const c of cases('aruba_aoscx/show_vlan')) {
      it(c.name, () => {
        const got = parseAoscxShowVlan(c.raw).map((v) => ({ vlan_id: v.vlanId, vlan_name: v.name, status: v.status, reason: v.reason, type: v.type, interfaces: v.interfaces }));
        assert.deepEqual(got, c.expected);
      });
      it(`${c.name}: memberships expand to single ports`, () => {
        const mgmt = parseAoscxShowVlan(c.raw).find((v) => v.vlanId === '3072')!;
        const ports = expandAoscxInterfaces(mgmt.interfaces);
        assert.equal(ports.length, 3 + 3 + 3 + 6);
        assert.ok(ports.includes('1/1/7') && !ports.includes('1/1/5'));
      });
    }
  });

  describe('the ios simulator renders what the parsers read', () => {
    it('show vlan brief / show interfaces switchport / show running-config round-trip through switchConfigFromIos', () => {
      const sim = new SwitchSim({ hostname: 'sw', ports: ['Gi1/0/1', 'Gi1/0/2', 'Te1/1/1'], portDefault: () => defaultPort('dynamic auto') });
      sim.setVlan(20, 'SCHUELER');
      sim.setVlan(30, 'LEHRER');
      sim.setPort('Gi1/0/1', { mode: 'access', accessVlan: 20, description: 'Raum 1 | Nord', enabled: false });
      const many = Array.from({ length: 60 }, (_, i) => 100 + i * 3);
      sim.setPort('Te1/1/1', { mode: 'trunk', nativeVlan: 30, allowedVlans: many });
      const c = sim.running;
      const parsed = switchConfigFromIos(renderRunningConfig(c), renderShowVlanBrief(c), renderShowInterfacesSwitchport(c));
      for (const sys of ['1002', '1003', '1004', '1005']) delete parsed.vlans[sys];
      assert.deepEqual(parsed, c);
      sim.close();
    });
  });
});
