/**
 * The security kinds: what validation refuses (with positions), how rules
 * and aliases expand into desired objects (UUIDv5 ids, device alias names,
 * defaults), and import.
 */
import assert from 'node:assert/strict';
import type { Diagnostic, Resource } from '../../engine/types.js';
import { expandAll } from '../../engine/targets.js';
import { defaultCatalog } from '../../cli/catalog.js';
import { resourceUuid } from '../../providers/kit/uuid.js';
import { firewallAliasKind, firewallRuleKind } from '../../providers/security/kinds.js';
import { res } from '../governance/helpers.js';

const alias = (name: string, spec: Record<string, unknown>) => res('schule', 'school', 'FirewallAlias', name, { firewall: 'fw', ...spec });
const rule = (name: string, spec: Record<string, unknown>) => res('schule', 'school', 'FirewallRule', name, { firewall: 'fw', sequence: 10, interface: 'lan', action: 'pass', ...spec });

function validate(target: Resource, others: Resource[] = []): Diagnostic[] {
  const all = [target, ...others];
  const byAddress = new Map(all.map((r) => [r.address, r]));
  const def = target.kind === 'FirewallRule' ? firewallRuleKind : firewallAliasKind;
  return def.validate!(target, { byAddress });
}

const codes = (ds: Diagnostic[]) => ds.map((d) => d.code);

describe('security kinds', () => {
  it('refuses values OPNsense would refuse, pointing at the value', () => {
    const cases: [Record<string, unknown>, string, string, RegExp][] = [
      [{ protocol: 'tcp' }, 'E_FW_PROTOCOL', '/spec/protocol', /write "TCP"/],
      [{ destination: '10.1.2.3/16' }, 'E_FW_ADDRESS', '/spec/destination', /host bits set/],
      [{ destination: ['any', '10.0.0.0/8'] }, 'E_FW_ADDRESS', '/spec/destination/0', /any can not be combined/],
      [{ destination: 'fd00::/64' }, 'E_FW_ADDRESS', '/spec/destination', /IPv6 but ipProtocol is inet/],
      [{ destination: 'Not A Name!' }, 'E_FW_ADDRESS', '/spec/destination', /neither any/],
      [{ protocol: 'ICMP', destinationPort: '443' }, 'E_FW_PORT', '/spec/destinationPort', /only valid with protocol TCP, UDP or TCP\/UDP/],
      [{ protocol: 'TCP', destinationPort: '443:445' }, 'E_FW_PORT', '/spec/destinationPort', /write a range as 443-445/],
      [{ protocol: 'TCP', destinationPort: '500-400' }, 'E_FW_PORT', '/spec/destinationPort', /low < high/],
      [{ destination: ['10.0.0.0/8', '10.1.0.0/16'], destinationNot: true }, 'E_FW_INVERT', '/spec/destinationNot', /single destination/],
      [{ description: 'two\nlines' }, 'E_FW_TEXT', '/spec/description', /one line/],
    ];
    for (const [spec, code, pointer, msg] of cases) {
      const r = rule('r', spec);
      const d = validate(r).find((x) => x.code === code);
      assert.ok(d, `${JSON.stringify(spec)}: ${JSON.stringify(validate(r))}`);
      assert.match(d!.message, msg);
      assert.equal(d!.pos!.line, r.positions[pointer][0], `${JSON.stringify(spec)} points at ${pointer}`);
    }
    assert.deepEqual(codes(validate(rule('ok', { protocol: 'TCP/UDP', source: ['10.1.0.0/16', '10.2.0.5'], destination: '(self)', destinationPort: 'domain', sourcePort: '1024-65535' }))), []);
  });

  it('checks alias references: on the same firewall, the right type', () => {
    const ports = alias('web-ports', { type: 'port', content: ['80', '443'] });
    const nets = alias('netze', { type: 'network', content: ['10.0.0.0/8'] });
    const other = res('schule', 'school', 'FirewallAlias', 'fremd', { firewall: 'fw-2', type: 'network', content: ['10.0.0.0/8'] });
    assert.deepEqual(codes(validate(rule('r', { protocol: 'TCP', destination: 'netze', destinationPort: 'web-ports' }), [ports, nets])), []);
    assert.deepEqual(codes(validate(rule('r', { destination: 'web-ports' }), [ports])), ['E_FW_ALIAS_TYPE']);
    assert.deepEqual(codes(validate(rule('r', { protocol: 'TCP', destinationPort: 'netze' }), [nets])), ['E_FW_ALIAS_TYPE']);
    assert.deepEqual(codes(validate(rule('r', { destination: 'fremd' }), [other])), ['E_FW_ALIAS_FIREWALL']);
    assert.deepEqual(firewallRuleKind.references!(rule('r', { destination: ['netze', 'bogons', '__lan_network'], destinationPort: 'web-ports', protocol: 'TCP' })), [
      { pointer: '/spec/firewall', kind: 'Firewall', name: 'fw' },
      { pointer: '/spec/destination/0', kind: 'FirewallAlias', name: 'netze' },
      { pointer: '/spec/destinationPort', kind: 'FirewallAlias', name: 'web-ports' },
    ]);
  });

  it('validates alias names as OPNsense has them, and content by type', () => {
    assert.deepEqual(codes(validate(alias('schueler-netz', { type: 'network', content: ['10.1.0.0/16'] }))), [], 'schueler-netz becomes schueler_netz');
    assert.deepEqual(codes(validate(alias('1st', { type: 'network', content: ['10.1.0.0/16'] }))), ['E_FW_ALIAS_NAME']);
    assert.deepEqual(codes(validate(alias('x', { name: 'bogons', type: 'network', content: ['10.1.0.0/16'] }))), ['E_FW_ALIAS_NAME'], 'a system alias');
    assert.deepEqual(codes(validate(alias('x', { name: 'pass', type: 'network', content: ['10.1.0.0/16'] }))), ['E_FW_ALIAS_NAME'], 'a pf keyword');
    const bad: [string, string][] = [
      ['network', '10.1.0.5/16'],
      ['network', 'www.example.org'],
      ['host', '10.0.0.0/8'],
      ['port', '70000'],
      ['url', 'ftp://x'],
      ['geoip', 'de'],
      ['mac', '00-11-22'],
      ['asn', 'AS3320'],
      ['network', '10.0.0.0/8 10.1.0.0/16'],
    ];
    for (const [type, entry] of bad) assert.deepEqual(codes(validate(alias('a', { type, content: [entry] }))), ['E_FW_ALIAS_CONTENT'], `${type}: ${entry}`);
    const a = alias('ab-c', { type: 'network', content: ['10.0.0.0/8'] });
    const b = alias('ab.c', { type: 'network', content: ['10.0.0.0/8'] });
    assert.deepEqual(codes(validate(b, [a])), ['E_FW_ALIAS_DUPLICATE'], 'both are ab_c on the firewall');
    assert.deepEqual(codes(validate(alias('a-b', { type: 'network', content: ['10.0.0.0/8'] }))), ['E_FW_ALIAS_NAME'], 'AliasNameField: the second character must be a letter or digit');
  });

  it('expands rules with UUIDv5 ids and every match field, aliases with their firewall names', () => {
    const rs = [
      res('schule', 'school', 'Firewall', 'fw', { connection: { driver: 'opnsense', host: '127.0.0.1', apiKey: '${secret:K}', apiSecret: '${secret:S}' } }),
      alias('schueler-netz', { type: 'network', content: ['10.101.40.0/22'] }),
      alias('gruppe', { type: 'networkgroup', content: ['schueler-netz'] }),
      rule('web', { source: 'schueler-netz', destination: ['10.2.0.0/16', '10.1.0.0/16'], protocol: 'TCP', destinationPort: 'https' }),
    ];
    const objs = expandAll(defaultCatalog(), rs, new Map(rs.map((r) => [r.address, r])));
    const web = objs.find((o) => o.kind === 'FirewallRule')!;
    assert.equal(web.id, resourceUuid('schule/FirewallRule/web'));
    assert.equal(web.target, 'schule/Firewall/fw');
    assert.deepEqual(web.state, {
      sequence: 10, interface: ['lan'], direction: 'in', action: 'pass', quick: true, protocol: 'TCP', ipProtocol: 'inet',
      source: ['schueler_netz'], sourceNot: false, sourcePort: '', destination: ['10.1.0.0/16', '10.2.0.0/16'], destinationNot: false,
      destinationPort: 'https', log: false, enabled: true, description: '',
    });
    assert.deepEqual(objs.filter((o) => o.kind === 'FirewallAlias').map((o) => [o.id, o.state.content]), [
      ['schueler_netz', ['10.101.40.0/22']],
      ['gruppe', ['schueler_netz']],
    ]);
  });

  it('imports live objects as manifests that declare them exactly', () => {
    const fw = res('schule', 'school', 'Firewall', 'fw', {});
    const a = firewallAliasKind.importAs!({ kind: 'FirewallAlias', id: 'Lehrer_Netz', state: { type: 'network', content: ['10.1.30.0/24'], description: 'Lehrer', enabled: true } }, fw);
    assert.deepEqual(a, { name: 'lehrer-netz', spec: { firewall: 'fw', name: 'Lehrer_Netz', type: 'network', content: ['10.1.30.0/24'], description: 'Lehrer' } });
    const r = firewallRuleKind.importAs!(
      {
        kind: 'FirewallRule',
        id: '0b5e6f2a-1c3d-5e4f-8a9b-0c1d2e3f4a5b',
        state: { sequence: 1000, interface: ['wan'], direction: 'in', action: 'pass', quick: true, protocol: 'TCP', ipProtocol: 'inet', source: ['192.0.2.0/24'], sourceNot: false, sourcePort: '', destination: ['(self)'], destinationNot: false, destinationPort: 'https', log: false, enabled: true, description: 'Management access' },
      },
      fw,
    );
    assert.equal(r.name, 'management-access-0b5e6f2a');
    assert.deepEqual(r.spec, { firewall: 'fw', sequence: 1000, interface: 'wan', direction: 'in', action: 'pass', protocol: 'TCP', source: '192.0.2.0/24', destination: '(self)', destinationPort: 'https', description: 'Management access' });
  });
});
