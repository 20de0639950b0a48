/**
 * builtin/firewall-separation: a school pass rule into the administration's
 * networks (or the other way round) is a mandatory violation unless an
 * earlier block on the same interface covers it, evaluated as OPNsense
 * orders rules; both resources are named with their positions.
 */
import assert from 'node:assert/strict';
import type { PolicyResult, Resource } from '../../engine/types.js';
import { evaluateValidatePolicies, loadCel, mandatoryFailed } from '../../policies/index.js';
import { FIREWALL_SEPARATION, firewallSeparationPolicy } from '../../policies/firewall-separation.js';
import { AddressSet } from '../../policies/address-set.js';
import { environment, res } from '../governance/helpers.js';

before(() => loadCel());

const admin = () => [
  environment('verwaltung', 'administration'),
  res('verwaltung', 'administration', 'Vlan', 'buero', { id: 110, subnet: '10.200.16.0/20', switches: ['rz'] }),
  res('verwaltung', 'administration', 'Vlan', 'fachverfahren', { id: 120, subnet: '10.200.32.0/24', switches: ['rz'] }),
  res('verwaltung', 'administration', 'FirewallAlias', 'rechenzentrum', { firewall: 'fw-rz', type: 'network', content: ['10.99.12.0/24'] }),
];

function school(rules: Record<string, any>[], extra: Resource[] = []): Resource[] {
  return [
    environment('schule-a', 'school'),
    res('schule-a', 'school', 'Vlan', 'schueler', { id: 40, subnet: '10.101.40.0/22', switches: ['core'] }),
    res('schule-a', 'school', 'FirewallAlias', 'schueler-netz', { firewall: 'fw', type: 'network', content: ['10.101.40.0/22'] }),
    res('schule-a', 'school', 'FirewallAlias', 'verwaltung', { firewall: 'fw', type: 'network', content: ['10.200.0.0/16', '10.99.0.0/16'] }),
    ...rules.map((r, i) => res('schule-a', 'school', 'FirewallRule', r.name ?? `r${i}`, { firewall: 'fw', interface: 'lan', source: 'schueler-netz', ...r, name: undefined })),
    ...extra,
  ];
}

function check(schoolRes: Resource[], adminRes = admin()): PolicyResult {
  const clean = (rs: Resource[]) => rs.map((r) => (r.spec && 'name' in r.spec ? { ...r, spec: Object.fromEntries(Object.entries(r.spec).filter(([k]) => k !== 'name')) } : r));
  const s = clean(schoolRes);
  return firewallSeparationPolicy([...adminRes, ...s], s);
}

describe('policy builtin/firewall-separation', () => {
  it('passes "block the administration, then pass to any"', () => {
    const r = check(
      school([
        { name: 'block-verwaltung', sequence: 10, action: 'block', destination: 'verwaltung' },
        { name: 'web', sequence: 20, action: 'pass', protocol: 'TCP', destination: 'any', destinationPort: '443' },
      ]),
    );
    assert.equal(r.passed, true, JSON.stringify(r.violations));
  });

  it('reports a pass to an administration network before (or without) a block, naming both resources with positions', () => {
    for (const seq of [5, 30]) {
      const rs = school([
        { name: 'block-verwaltung', sequence: 10, action: 'block', destination: 'verwaltung' },
        { name: 'rz', sequence: seq, action: 'pass', destination: '10.99.12.0/25' },
      ]);
      const adminRes = admin();
      const r = check(seq === 5 ? rs : rs.filter((x) => x.name !== 'block-verwaltung'), adminRes);
      assert.equal(r.passed, false);
      assert.equal(r.enforcement, 'mandatory');
      const v = r.violations[0];
      const rule = rs.find((x) => x.name === 'rz')!;
      assert.equal(v.address, 'schule-a/FirewallRule/rz');
      assert.deepEqual(v.pos, { file: rule.pos.file, line: rule.positions['/spec/destination'][0], col: rule.positions['/spec/destination'][1] });
      const alias = adminRes[3];
      assert.equal(v.related![0].address, 'verwaltung/FirewallAlias/rechenzentrum');
      assert.equal(v.related![0].pos!.line, alias.positions['/spec/content/0'][0]);
      assert.match(v.message, /10\.99\.12\.0\/25/);
      assert.match(v.message, /environments\/verwaltung\/firewallaliass\.yaml:\d+:\d+/);
    }
  });

  it('counts an earlier block only where it surely sees the same packets first', () => {
    const pass = { name: 'p', sequence: 20, action: 'pass', destination: 'any' };
    const blocks: [string, Record<string, unknown>, boolean][] = [
      ['on another interface', { interface: 'opt1' }, false],
      ['for TCP only (the pass is any protocol)', { protocol: 'TCP' }, false],
      ['for port 443 only', { protocol: 'TCP', destinationPort: '443' }, false],
      ['from a narrower source', { source: '10.101.40.0/24' }, false],
      ['non-quick', { quick: false }, false],
      ['disabled', { enabled: false }, false],
      ['outbound (the pass is inbound)', { direction: 'out' }, false],
      ['of the administration subnets only (alias part remains)', { destination: ['10.200.0.0/16'] }, false],
      ['in both directions, from any source, rejecting', { direction: 'any', source: 'any', action: 'reject' }, true],
      ['floating on lan and opt1 even with a later sequence', { interface: ['lan', 'opt1'], sequence: 900 }, true],
    ];
    for (const [what, b, ok] of blocks) {
      const r = check(school([{ name: 'b', sequence: 10, action: 'block', destination: 'verwaltung', ...b }, pass]));
      assert.equal(r.passed, ok, `block ${what}: ${JSON.stringify(r.violations.map((v) => v.message))}`);
    }
    // a floating pass (several interfaces) comes before single-interface blocks, whatever its sequence
    const floating = check(school([{ name: 'b', sequence: 10, action: 'block', destination: 'verwaltung' }, { ...pass, interface: ['lan', 'opt1'], sequence: 500 }]));
    assert.equal(floating.passed, false);
    // the same sequence is not "earlier"
    assert.equal(check(school([{ name: 'b', sequence: 20, action: 'block', destination: 'verwaltung' }, pass])).passed, false);
  });

  it('treats destinations only the firewall knows as any address, and (self) as the firewall itself', () => {
    assert.equal(check(school([{ sequence: 10, action: 'pass', destination: '__lan_network' }])).passed, false);
    const urlAlias = res('schule-a', 'school', 'FirewallAlias', 'cloud', { firewall: 'fw', type: 'urltable', content: ['https://example.org/list.txt'] });
    const r = check(school([{ sequence: 10, action: 'pass', destination: 'cloud' }], [urlAlias]));
    assert.equal(r.passed, false);
    assert.match(r.violations[0].message, /"cloud" is known only on the firewall/);
    assert.equal(check(school([{ sequence: 10, action: 'pass', destination: '(self)' }])).passed, true);
    assert.equal(check(school([{ sequence: 10, action: 'block', destination: 'verwaltung' }, { sequence: 20, action: 'pass', destination: '__wan_network' }])).passed, true);
  });

  it('applies destinationNot and the IP family', () => {
    assert.equal(check(school([{ sequence: 10, action: 'pass', destination: '10.101.0.0/16', destinationNot: true }])).passed, false, 'everything but the school includes the administration');
    assert.equal(check(school([{ sequence: 10, action: 'pass', destination: 'any', ipProtocol: 'inet6' }])).passed, true, 'the administration has no IPv6 networks here');
  });

  it('does not take a school alias naming the administration as a school network (and the other way round)', () => {
    // the administration's firewall passes into its own networks; the school's alias "verwaltung" lists them only to block them
    const adminFw = [
      ...admin(),
      res('verwaltung', 'administration', 'FirewallRule', 'intern', { firewall: 'fw-rz', sequence: 10, interface: 'lan', action: 'pass', destination: '10.200.0.0/16' }),
      res('verwaltung', 'administration', 'FirewallRule', 'schulen', { firewall: 'fw-rz', sequence: 20, interface: 'lan', action: 'pass', destination: '10.101.40.0/24' }),
    ];
    const s = school([]);
    const r = firewallSeparationPolicy([...adminFw, ...s], adminFw);
    assert.deepEqual(r.violations.map((v) => v.address), ['verwaltung/FirewallRule/schulen']);
    assert.equal(r.violations[0].related![0].address, 'schule-a/Vlan/schueler');
  });

  it('is part of the built-in mandatory policies, evaluated over every environment and reported for the run', async () => {
    const bad = school([{ sequence: 10, action: 'pass', destination: '10.200.16.0/24' }]);
    const rs = evaluateValidatePolicies({ resources: [...admin(), ...bad], zoneResources: bad });
    const r = rs.find((x) => x.name === FIREWALL_SEPARATION)!;
    assert.equal(r.passed, false);
    assert.equal(r.violations[0].related![0].address, 'verwaltung/Vlan/buero');
    assert.ok(mandatoryFailed(rs));
    const otherRun = evaluateValidatePolicies({ resources: [...admin(), ...bad], zoneResources: admin() });
    assert.equal(otherRun.find((x) => x.name === FIREWALL_SEPARATION)!.passed, true, 'reported only for the run');
  });

  it('does set algebra on address ranges of both families', () => {
    const a = AddressSet.parse('10.0.0.0/8')!.union(AddressSet.parse('2001:db8::/32')!);
    const hole = a.minus(AddressSet.parse('10.1.0.0/16')!);
    assert.equal(hole.describe(5), '10.0.0.0/16, 10.2.0.0-10.255.255.255, 2001:db8::/32');
    assert.ok(a.covers(hole) && !hole.covers(a));
    assert.equal(hole.and(AddressSet.parse('10.1.2.3')!).isEmpty(), true);
    assert.equal(AddressSet.all([4]).minus(AddressSet.parse('0.0.0.0/1')!).describe(), '128.0.0.0/1');
    assert.equal(AddressSet.parse('not an address'), null);
  });
});
