/**
 * The switch parsers against real device output: every .raw of the covered
 * commands must parse into what the .yml beside it says (ntc-templates test
 * data, read from ../shared at test time, never copied into the project).
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import {
  parseRunningConfigInterfaces,
  parseShowInterfacesSwitchport,
  parseShowVlan,
  parseShowVlans,
} from '../../providers/network/ios/parsers.js';
import { expandAoscxInterfaces, parseAoscxShowVlan } from '../../providers/network/aoscx/parsers.js';

const CORPUS = resolve(process.cwd(), '../shared/corpus/network/ntc-templates');

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

describe('network corpus parsers (ntc-templates)', function () {
  before(function () {
    assert.ok(existsSync(CORPUS), `corpus not found at ${CORPUS} (run the tests from the project root)`);
  });

  describe('cisco_ios show vlan', () => {
    for (const c of cases('cisco_ios/show_vlan')) {
      it(c.name, () => {
        const got = parseShowVlan(c.raw).map((v) => ({ vlan_id: v.vlanId, vlan_name: v.name, status: v.status, interfaces: v.interfaces }));
        const want = c.expected.map((e) => ({ vlan_id: e.vlan_id, vlan_name: e.vlan_name, status: e.status, interfaces: e.interfaces }));
        assert.deepEqual(got, want);
      });
    }
  });

  describe('cisco_ios show vlans', () => {
    const all = cases('cisco_ios/show_vlans');
    it('has the corpus files', () => assert.ok(all.length >= 10));
    for (const c of all) {
      it(c.name, () => {
        const got = parseShowVlans(c.raw).map((v) => ({
          vlan_id: v.vlanId,
          interfaces: v.interfaces,
          inner_vlans: v.innerVlans,
          ip_addresses: v.ipAddresses,
          ipv6_addresses: v.ipv6Addresses,
        }));
        const want = c.expected.map((e) => ({
          vlan_id: e.vlan_id,
          interfaces: e.interfaces,
          inner_vlans: e.inner_vlans,
          ip_addresses: e.ip_addresses,
          ipv6_addresses: e.ipv6_addresses,
        }));
        assert.deepEqual(got, want);
      });
    }
  });

  describe('cisco_ios show interfaces switchport', () => {
    const all = cases('cisco_ios/show_interfaces_switchport');
    it('has the corpus files', () => assert.ok(all.length >= 8));
    for (const c of all) {
      it(c.name, () => {
        const got = parseShowInterfacesSwitchport(c.raw).map((p) => ({
          interface: p.interface,
          switchport: p.switchport,
          switchport_negotiation: p.negotiation,
          mode: p.mode,
          admin_mode: p.adminMode,
          access_vlan: p.accessVlan,
          native_vlan: p.nativeVlan,
          voice_vlan: p.voiceVlan,
          trunking_vlans: p.trunkingVlans,
        }));
        const want = c.expected.map((e) => ({
          interface: e.interface,
          switchport: e.switchport,
          switchport_negotiation: e.switchport_negotiation,
          mode: e.mode,
          admin_mode: e.admin_mode,
          access_vlan: e.access_vlan,
          native_vlan: e.native_vlan,
          voice_vlan: e.voice_vlan,
          trunking_vlans: e.trunking_vlans,
        }));
        assert.deepEqual(got, want);
      });
    }
  });

  describe('cisco_ios show running-config interface', () => {
    for (const c of cases('cisco_ios/show_running-config_interface')) {
      it(c.name, () => {
        const got = parseRunningConfigInterfaces(c.raw).map((i) => ({
          interface: i.interface,
          description: i.description,
          outer_vlan: i.outerVlan ?? '',
          inner_vlan: i.innerVlan ?? '',
          ip_address: i.ipAddress ?? '',
          netmask: i.netmask ?? '',
          vrf: i.vrf ?? '',
          mtu: i.mtu ?? '',
        }));
        const want = c.expected.map((e) => ({
          interface: e.interface,
          description: e.description,
          outer_vlan: e.outer_vlan,
          inner_vlan: e.inner_vlan,
          ip_address: e.ip_address,
          netmask: e.netmask,
          vrf: e.vrf,
          mtu: e.mtu,
        }));
        assert.deepEqual(got, want);
      });
    }
  });

  describe('aruba_aoscx show vlan', () => {
    for (const c of cases('aruba_aoscx/show_vlan')) {
      it(c.name, () => {
        const got = parseAoscxShowVlan(c.raw).map((v) => ({
          vlan_id: v.vlanId,
          vlan_name: v.name,
          status: v.status,
          reason: v.reason,
          type: v.type,
          interfaces: v.interfaces,
        }));
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
});
