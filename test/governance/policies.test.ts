import assert from 'node:assert/strict';
import {
  checkZoneReferences,
  evaluatePlanPolicies,
  evaluateValidatePolicies,
  extraApprovals,
  loadCel,
  mandatoryFailed,
  policyDiagnostics,
} from '../../policies/index.js';
import { isSecretFieldName } from '../../policies/secrets.js';
import { parseCidr } from '../../engine/net.js';
import type { PolicyResult, Resource } from '../../engine/types.js';
import { change, environment, res } from './helpers.js';

// The synchronous policy API needs the CEL library loaded (the PolicySet does that itself).
before(() => loadCel());

const result = (rs: PolicyResult[], name: string) => {
  const r = rs.find((x) => x.name === name);
  assert.ok(r, `no result ${name} in ${rs.map((x) => x.name).join(', ')}`);
  return r!;
};

function city() {
  const admin = [
    environment('verwaltung', 'administration'),
    res('verwaltung', 'administration', 'Switch', 'core-01', { connection: { driver: 'ios', host: '10.0.0.2', password: '${secret:SW}' } }),
    res('verwaltung', 'administration', 'Vlan', 'clients', { id: 10, subnet: '10.20.0.0/16' }),
  ];
  const schoolA = [
    environment('school-a', 'school'),
    res('school-a', 'school', 'Switch', 'core-01', { connection: { driver: 'ios', host: '10.0.0.2', password: '${secret:SW}' } }),
    res('school-a', 'school', 'Vlan', 'students', { id: 20, subnet: '10.20.4.0/24' }),
  ];
  const schoolB = [
    environment('school-b', 'school'),
    res('school-b', 'school', 'Switch', 'core-01', { connection: { driver: 'ios', host: '10.2.0.2' } }),
    res('school-b', 'school', 'Vlan', 'students', { id: 20, subnet: '10.30.0.0/24' }),
  ];
  return { admin, schoolA, schoolB, all: [...admin, ...schoolA, ...schoolB] };
}

for (const engine of ['cel-js', 'bufbuild'] as const) {
  describe(`governance policies (CEL: ${engine})`, () => {
    describe('zone separation', () => {
      it('reports a school subnet overlapping an administration subnet, with positions of both', () => {
        const c = city();
        const rs = evaluateValidatePolicies({ resources: c.all, zoneResources: c.schoolA, engine });
        const zs = result(rs, 'builtin/zone-separation');
        assert.equal(zs.enforcement, 'mandatory');
        assert.equal(zs.passed, false);
        const v = zs.violations.find((x) => x.address === 'school-a/Vlan/students')!;
        assert.ok(v, JSON.stringify(zs.violations));
        const school = c.schoolA[2];
        const adminVlan = c.admin[2];
        assert.deepEqual(v.pos, { file: school.pos.file, line: school.positions['/spec/subnet'][0], col: school.positions['/spec/subnet'][1] });
        assert.equal(v.related![0].address, 'verwaltung/Vlan/clients');
        assert.deepEqual(v.related![0].pos, {
          file: adminVlan.pos.file,
          line: adminVlan.positions['/spec/subnet'][0],
          col: adminVlan.positions['/spec/subnet'][1],
        });
        assert.match(v.message, /10\.20\.4\.0\/24/);
        assert.match(v.message, /environments\/verwaltung\/vlans\.yaml:\d+/);
        assert.ok(mandatoryFailed(rs));
      });

      it('reports a duplicate management address between school and administration', () => {
        const c = city();
        const rs = evaluateValidatePolicies({ resources: c.all, zoneResources: c.schoolA, engine });
        const v = result(rs, 'builtin/zone-separation').violations.find((x) => x.address === 'school-a/Switch/core-01');
        assert.ok(v);
        assert.equal(v!.related![0].address, 'verwaltung/Switch/core-01');
        assert.equal(v!.pos!.line, c.schoolA[1].positions['/spec/connection/host'][0]);
        assert.match(v!.message, /10\.0\.0\.2/);
      });

      it('reports the same conflict from the administration side', () => {
        const c = city();
        const rs = evaluateValidatePolicies({ resources: c.all, zoneResources: c.admin, engine });
        const zs = result(rs, 'builtin/zone-separation');
        assert.deepEqual(zs.violations.map((v) => v.address).sort(), ['verwaltung/Switch/core-01', 'verwaltung/Vlan/clients']);
      });

      it('passes separated environments and ignores conflicts outside the run', () => {
        const c = city();
        const rs = evaluateValidatePolicies({ resources: c.all, zoneResources: c.schoolB, engine });
        assert.equal(result(rs, 'builtin/zone-separation').passed, true);
        assert.equal(result(rs, 'builtin/environment-separation').passed, true);
        assert.equal(mandatoryFailed(rs), false);
      });

      it('treats loopback hosts (the lab) as distinct by port', () => {
        const a = res('verwaltung', 'administration', 'Server', 'dc-01', { os: 'linux', connection: { driver: 'ssh', host: '127.0.0.1', port: 2222 } });
        const b = res('school-a', 'school', 'Server', 'web-01', { os: 'linux', connection: { driver: 'ssh', host: '127.0.0.1', port: 2223 } });
        const c2 = res('school-b', 'school', 'Server', 'web-01', { os: 'linux', connection: { driver: 'ssh', host: 'LOCALHOST', port: 2222 } });
        const d = res('school-c', 'school', 'Server', 'web-01', { os: 'linux', connection: { driver: 'ssh', host: '127.0.0.1', port: 2222 } });
        let rs = evaluateValidatePolicies({ resources: [a, b, c2], zoneResources: [b], engine });
        assert.equal(result(rs, 'builtin/zone-separation').passed, true);
        rs = evaluateValidatePolicies({ resources: [a, d], zoneResources: [d], engine });
        assert.equal(result(rs, 'builtin/zone-separation').passed, false);
      });

      it('compares IPv6 and hostnames canonically', () => {
        const a = res('verwaltung', 'administration', 'Switch', 'sw', { connection: { driver: 'ios', host: '2001:DB8::1' } });
        const b = res('school-a', 'school', 'Switch', 'sw', { connection: { driver: 'ios', host: '[2001:db8:0:0::1]' } });
        const rs = evaluateValidatePolicies({ resources: [a, b], zoneResources: [b], engine });
        assert.equal(result(rs, 'builtin/zone-separation').violations.length, 1);
      });

      it('makes overlapping school subnets an advisory environment-separation finding', () => {
        const a = res('school-a', 'school', 'Vlan', 'v', { id: 20, subnet: ['10.0.0.0/16', 'fd00::/64'] });
        const b = res('school-b', 'school', 'Vlan', 'v', { id: 20, subnet: '10.0.8.0/24' });
        const c = res('school-c', 'school', 'Vlan', 'v', { id: 20, subnet: 'fd00::/48' });
        const rs = evaluateValidatePolicies({ resources: [a, b, c], zoneResources: [a], engine });
        const es = result(rs, 'builtin/environment-separation');
        assert.equal(es.enforcement, 'advisory');
        assert.equal(es.violations.length, 2);
        assert.equal(result(rs, 'builtin/zone-separation').passed, true);
        assert.equal(mandatoryFailed(rs), false);
      });
    });

    describe('no literal secrets', () => {
      it('flags literal passwords, tokens, keys and PSKs without printing the value', () => {
        const r = res('school-a', 'school', 'Switch', 'sw', {
          connection: { driver: 'ios', host: '10.1.0.2', password: 'hunter2', privateKeyFile: 'keys/id', hostKeyFingerprint: 'SHA256:x' },
          wifi: { wpaPsk: 12345678, apiToken: '${secret:TOKEN}', publicKey: 'AAAA', preSharedKey: '${secret:bad name}' },
          enablePassword: true,
        });
        const rs = evaluateValidatePolicies({ resources: [r], zoneResources: [r], engine });
        const p = result(rs, 'builtin/no-literal-secrets');
        assert.equal(p.enforcement, 'mandatory');
        const fields = p.violations.map((v) => v.message.split(' ')[0]).sort();
        assert.deepEqual(fields, ['spec.connection.password', 'spec.wifi.preSharedKey', 'spec.wifi.wpaPsk']);
        for (const v of p.violations) assert.doesNotMatch(v.message, /hunter2|12345678/);
        const pw = p.violations.find((v) => v.message.startsWith('spec.connection.password'))!;
        assert.equal(pw.pos!.line, r.positions['/spec/connection/password'][0]);
        const diags = policyDiagnostics(rs);
        assert.ok(diags.some((d) => d.code === 'E_POLICY' && d.severity === 'error' && d.pos?.line === pw.pos!.line));
      });

      it('classifies field names', () => {
        for (const n of ['password', 'PASSWORD', 'adminPassword', 'api_token', 'secret', 'psk', 'key', 'privateKey', 'client-secret'])
          assert.equal(isSecretFieldName(n), true, n);
        for (const n of ['privateKeyFile', 'publicKey', 'hostKey', 'hostKeyFingerprint', 'secretName', 'keyboard', 'authorizedKeys', 'monkey'])
          assert.equal(isSecretFieldName(n), false, n);
      });
    });

    describe('hostname naming (CEL built-in)', () => {
      it('limits Windows and linuxmuster host names to 15 lowercase characters', () => {
        const env = environment('school-a', 'school', { policies: { naming: 'linuxmuster' } });
        const win = res('verwaltung', 'administration', 'Server', 'FILESERVER-VERWALTUNG01', { os: 'windows', connection: { driver: 'winrm', host: '10.0.0.9' } });
        const winOk = res('verwaltung', 'administration', 'Server', 'fs-01', { os: 'windows', connection: { driver: 'winrm', host: '10.0.0.8' } });
        const lin = res('verwaltung', 'administration', 'Server', 'a-very-long-linux-server-name', { os: 'linux', connection: { driver: 'ssh', host: '10.0.0.7' } });
        const lmn = res('school-a', 'school', 'Server', 'x', { os: 'linux', hostname: 'Server_Schule_A', connection: { driver: 'ssh', host: '10.1.0.7' } });
        const labelled = res('verwaltung', 'administration', 'Server', 'way-too-long-for-netbios', { os: 'linux', connection: { driver: 'ssh', host: '10.0.0.6' } }, { labels: { naming: 'linuxmuster' } });
        const rsA = evaluateValidatePolicies({ resources: [win, winOk, lin, labelled], zoneResources: [win, winOk, lin, labelled], engine });
        const hA = result(rsA, 'builtin/hostname-naming');
        assert.deepEqual(hA.violations.map((v) => v.address).sort(), [labelled.address, win.address].sort());
        assert.equal(hA.violations.find((v) => v.address === win.address)!.pos!.line, win.positions['/metadata/name'][0]);
        const rsS = evaluateValidatePolicies({ resources: [env, lmn], zoneResources: [env, lmn], engine });
        const hS = result(rsS, 'builtin/hostname-naming');
        assert.equal(hS.violations.length, 1);
        assert.equal(hS.violations[0].pos!.line, lmn.positions['/spec/hostname'][0]);
      });
    });

    describe('destructive-change cap', () => {
      const envRes = (n: number, policies?: any) => [
        environment('school-a', 'school', policies ? { policies } : {}),
        ...Array.from({ length: n }, (_, i) => res('school-a', 'school', 'File', `f${i}`, { path: `/f${i}` })),
      ];
      it('asks for one extra approval above the absolute cap', () => {
        const zr = envRes(100);
        const changes = Array.from({ length: 11 }, (_, i) => change(`school-a/File/gone${i}`, ['delete']));
        const rs = evaluatePlanPolicies({ resources: zr, zoneResources: zr, changes, engine });
        const d = result(rs, 'builtin/destructive-change-cap');
        assert.equal(d.enforcement, 'advisory');
        assert.equal(d.extraApprovals, 1);
        assert.equal(extraApprovals(rs), 1);
        assert.equal(mandatoryFailed(rs), false);
      });
      it('asks for one extra approval above the share, and counts a resource once', () => {
        const zr = envRes(5);
        const changes = [change('school-a/Vlan/x[sw1]', ['delete']), change('school-a/Vlan/x[sw2]', ['delete']), change('school-a/File/f0', ['delete'])];
        const rs = evaluatePlanPolicies({ resources: zr, zoneResources: zr, changes, engine });
        const d = result(rs, 'builtin/destructive-change-cap');
        assert.equal(d.extraApprovals, 1);
        assert.match(d.violations[0].message, /deletes 2 of 6 resources/);
      });
      it('stays quiet under the caps, ignores replaces, honours Environment.spec.policies', () => {
        const zr = envRes(20);
        let rs = evaluatePlanPolicies({ resources: zr, zoneResources: zr, changes: [change('school-a/File/f1', ['delete']), change('school-a/File/f2', ['delete', 'create'])], engine });
        assert.equal(result(rs, 'builtin/destructive-change-cap').extraApprovals, 0);
        const strict = envRes(20, { maxDeletes: 0 });
        rs = evaluatePlanPolicies({ resources: strict, zoneResources: strict, changes: [change('school-a/File/f1', ['delete'])], engine });
        assert.equal(result(rs, 'builtin/destructive-change-cap').extraApprovals, 1);
      });
    });

    describe('environment Policy resources', () => {
      const policy = (name: string, spec: any) => res('school-a', 'school', 'Policy', name, spec);
      it('runs a validate rule on matching resources of its environment only', () => {
        const p = policy('no-vlan-1', { match: { kinds: ['Vlan'] }, rule: 'resource.spec.id != 1', message: 'VLAN 1 must not be used' });
        const bad = res('school-a', 'school', 'Vlan', 'default', { id: 1 });
        const good = res('school-a', 'school', 'Vlan', 'students', { id: 20 });
        const other = res('school-b', 'school', 'Vlan', 'default', { id: 1 });
        const all = [p, bad, good, other];
        const rs = evaluateValidatePolicies({ resources: all, zoneResources: all, engine });
        const r = result(rs, 'school-a/Policy/no-vlan-1');
        assert.equal(r.enforcement, 'mandatory');
        assert.deepEqual(r.violations.map((v) => v.address), ['school-a/Vlan/default']);
        assert.equal(r.violations[0].message, 'VLAN 1 must not be used');
        assert.equal(r.violations[0].related![0].address, p.address);
      });
      it('matches zones and labels', () => {
        const p = policy('tagged', { match: { labels: { tier: 'core' }, zones: ['school'] }, rule: 'resource.name.startsWith("core")', message: 'core names', enforcement: 'advisory' });
        const a = res('school-a', 'school', 'Switch', 'edge-1', { connection: { driver: 'ios', host: '10.9.0.1' } }, { labels: { tier: 'core' } });
        const b = res('school-a', 'school', 'Switch', 'edge-2', { connection: { driver: 'ios', host: '10.9.0.2' } });
        const rs = evaluateValidatePolicies({ resources: [p, a, b], zoneResources: [p, a, b], engine });
        const r = result(rs, 'school-a/Policy/tagged');
        assert.deepEqual(r.violations.map((v) => v.address), [a.address]);
        assert.equal(mandatoryFailed(rs), false);
      });
      it('runs plan-stage rules against each planned change', () => {
        const p = policy('no-user-delete', { match: { kinds: ['User'] }, stage: 'plan', rule: '!("delete" in change.actions)', message: 'users are never deleted by plan' });
        const u = res('school-a', 'school', 'User', 'alice', { server: 'web-01' });
        const zr = [environment('school-a', 'school'), p, u];
        const changes = [change('school-a/User/alice', ['update']), change('school-a/User/bob', ['delete'], 'User'), change('school-a/File/x', ['delete'])];
        const rs = evaluatePlanPolicies({ resources: zr, zoneResources: zr, changes, engine });
        const r = result(rs, 'school-a/Policy/no-user-delete');
        assert.deepEqual(r.violations.map((v) => v.address), ['school-a/User/bob']);
        // validate-stage results are part of the plan results too
        assert.ok(rs.some((x) => x.name === 'builtin/zone-separation'));
      });
      it('turns rule errors and broken rules into violations instead of crashing', () => {
        const err = policy('err', { match: { kinds: ['Vlan'] }, rule: 'resource.spec.missing == 1', message: 'needs missing' });
        const notBool = policy('notbool', { match: { kinds: ['Vlan'] }, rule: 'resource.spec.id', message: 'x' });
        const broken = policy('broken', { rule: 'resource.spec.id ==', message: 'x' });
        const hostile = res('school-a', 'school', 'Policy', 'hostile', null as any);
        const v = res('school-a', 'school', 'Vlan', 'v', { id: 5 });
        const all = [err, notBool, broken, hostile, v];
        const rs = evaluateValidatePolicies({ resources: all, zoneResources: all, engine });
        assert.match(result(rs, 'school-a/Policy/err').violations[0].message, /rule failed/);
        assert.equal(result(rs, 'school-a/Policy/notbool').passed, false);
        const b = result(rs, 'school-a/Policy/broken');
        assert.match(b.violations[0].message, /does not compile/);
        assert.equal(b.violations[0].pos!.line, broken.positions['/spec/rule'][0]);
        assert.equal(result(rs, 'school-a/Policy/hostile').passed, false);
      });
    });

    it('survives hostile resources', () => {
      const weird: any[] = [
        { address: 'x', env: 'x', zone: 'school', kind: 'Vlan', name: 'x', labels: null, spec: null, pos: { file: 'f', line: 1, col: 1 }, positions: {} },
        { address: 'y', env: 'y', zone: 'administration', kind: 'Switch', name: 'y', labels: {}, spec: { connection: { host: 42 }, subnet: 'garbage/99' }, pos: { file: 'f', line: 1, col: 1 }, positions: null },
        { address: 'z', env: 'z', zone: 'school', kind: 'Server', name: 'z', labels: {}, spec: { os: 'windows', connection: [] , password: { deeply: { nested: ['a'] } } }, pos: { file: 'f', line: 1, col: 1 } },
        null,
        'string',
      ];
      const rs = evaluatePlanPolicies({ resources: weird as Resource[], zoneResources: weird as Resource[], changes: [null, { actions: 'x' }] as any, engine });
      assert.ok(Array.isArray(rs));
    });
  });
}

describe('cross-zone references', () => {
  it('gives E_CROSS_ZONE at the referring value', () => {
    const adminSwitch = res('verwaltung', 'administration', 'Switch', 'core-01', { connection: { driver: 'ios', host: '10.0.0.2' } });
    const schoolSwitch = res('school-a', 'school', 'Switch', 'core-01', { connection: { driver: 'ios', host: '10.1.0.2' } });
    const port = res('school-a', 'school', 'SwitchPort', 'uplink', { switch: 'core-01', ports: 'Gi1/0/48' });
    const diags = checkZoneReferences([adminSwitch, schoolSwitch, port], [
      { from: port, pointer: '/spec/switch', to: adminSwitch },
      { from: port, pointer: '/spec/switch', to: schoolSwitch },
    ]);
    assert.equal(diags.length, 1);
    assert.equal(diags[0].code, 'E_CROSS_ZONE');
    assert.equal(diags[0].severity, 'error');
    assert.deepEqual(diags[0].pos, { file: port.pos.file, line: port.positions['/spec/switch'][0], col: port.positions['/spec/switch'][1] });
    assert.match(diags[0].message, /verwaltung\/Switch\/core-01/);
  });
});

describe('CIDR parsing', () => {
  it('parses IPv4 and IPv6 blocks and rejects garbage', () => {
    assert.deepEqual(parseCidr('10.1.2.3/24'), { family: 4, start: 0x0a010200, end: 0x0a0102ff });
    assert.equal(parseCidr('fd00::/8')!.family, 6);
    assert.equal(parseCidr('::ffff:10.0.0.0/104')!.family, 6);
    for (const bad of ['10.0.0.0', '10.0.0.0/33', '300.0.0.0/8', 'x/8', 42, null, 'fd00::/129']) assert.equal(parseCidr(bad), null, String(bad));
  });
});
