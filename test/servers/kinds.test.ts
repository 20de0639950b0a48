/** Unit tests of the servers area's kinds: validation (OS-aware, positioned), normalisation, expansion. */
import assert from 'node:assert/strict';
import type { Diagnostic, Resource } from '../../engine/types.js';
import { diffObject } from '../../engine/diff.js';
import { DriverError } from '../../engine/types.js';
import { fileKind, serverKindDef, serverKinds, userKind, groupKind, linuxPathProblem, windowsAccountProblem, windowsPathProblem, windowsServiceNameProblem } from '../../providers/servers/kinds.js';
import { checkLinuxId } from '../../providers/servers/linux/driver.js';
import { kinds } from '../../providers/servers/index.js';
import { resource, serverResource, ENV, SERVER } from './conformance.js';

function validate(res: Resource, os: 'linux' | 'windows' = 'linux', extra: Resource[] = []): Diagnostic[] {
  const all = [serverResource(os), res, ...extra];
  return serverKindDef(res.kind)!.validate!(res, { byAddress: new Map(all.map((r) => [r.address, r])) });
}

function codes(d: Diagnostic[]): string[] {
  return d.map((x) => x.code);
}

describe('servers kinds', () => {
  it('exports all seven kinds with their schemas', () => {
    for (const k of serverKinds) assert.ok(kinds.includes(k), `providers/servers/index.ts exports ${k.kind}`);
    assert.deepEqual(
      serverKinds.map((k) => [k.kind, k.schema]),
      ['Server', 'File', 'Directory', 'User', 'Group', 'Package', 'Service'].map((k) => [k, `servers/${k}.schema.json`]),
    );
    assert.equal(serverKinds[0].isTarget, true);
    assert.deepEqual(fileKind.references!(resource('File', 'f', { server: 'web-01', path: '/x' })), [{ pointer: '/spec/server', kind: 'Server', name: 'web-01' }]);
  });

  describe('validate (linux)', () => {
    const evilPaths = ['/srv/a;rm -rf /', '/srv/$(reboot)', '/srv/`id`', '/srv/a\nb', '/srv/a\u0000b', '/srv/a|b', '/srv/a&b', '/srv/${HOME}', '/srv/a\rb', '/srv/a\u001bb'];
    for (const p of evilPaths) {
      it(`refuses path ${JSON.stringify(p)} with E_UNSAFE_VALUE at the path's position`, () => {
        const r = resource('File', 'f', { server: SERVER, path: p, content: 'x' });
        r.positions['/spec/path'] = [7, 9];
        const d = validate(r);
        assert.deepEqual(codes(d), ['E_UNSAFE_VALUE']);
        assert.deepEqual(d[0].pos, { file: r.pos.file, line: 7, col: 9 });
        assert.equal(d[0].severity, 'error');
      });
    }
    for (const p of ['relative/path', '/srv/../etc/shadow', '/srv/./x', '/srv/dir/', '/srv//x']) {
      it(`refuses path ${JSON.stringify(p)} with E_INVALID_PATH`, () => {
        assert.deepEqual(codes(validate(resource('Directory', 'd', { server: SERVER, path: p }))), ['E_INVALID_PATH']);
      });
    }
    it('accepts ordinary paths, including spaces and quotes, and falls back to the document position', () => {
      assert.deepEqual(validate(resource('File', 'f', { server: SERVER, path: `/srv/share/Klasse 5a/it's "ok".txt`, content: '$(not a command)' })), []);
      const r = resource('File', 'f', { server: SERVER, path: 'x' });
      assert.deepEqual(validate(r)[0].pos, r.pos);
    });
    it('refuses unsafe or invalid user, group, package and service names', () => {
      const r = (kind: string, name: string, spec: Record<string, unknown> = {}) => resource(kind, 'n', { server: SERVER, name, ...spec });
      assert.deepEqual(codes(validate(r('User', 'bob;id'))), ['E_UNSAFE_VALUE']);
      assert.deepEqual(codes(validate(r('User', 'bob$(id)'))), ['E_UNSAFE_VALUE']);
      assert.deepEqual(codes(validate(r('User', 'bob\nroot'))), ['E_UNSAFE_VALUE']);
      assert.deepEqual(codes(validate(r('User', 'Bob'))), ['E_INVALID_NAME']);
      assert.deepEqual(codes(validate(r('User', '-oProxyCommand'))), ['E_INVALID_NAME']);
      assert.deepEqual(codes(validate(r('User', 'a'.repeat(33)))), ['E_INVALID_NAME']);
      assert.deepEqual(codes(validate(r('User', 'alice', { groups: ['staff', 'x`id`'], shell: '/bin/sh;id', comment: 'A:B' }))), ['E_UNSAFE_VALUE', 'E_UNSAFE_VALUE', 'E_INVALID_VALUE']);
      assert.deepEqual(codes(validate(r('Group', 'staff', { members: ['ok', 'no;pe'] }))), ['E_UNSAFE_VALUE']);
      assert.deepEqual(codes(validate(r('Package', 'curl;reboot'))), ['E_UNSAFE_VALUE']);
      assert.deepEqual(codes(validate(r('Package', 'Curl'))), ['E_INVALID_NAME']);
      assert.deepEqual(codes(validate(r('Package', 'libstdc++6', { version: '1:2.3~rc1-4+deb12u1' }))), []);
      assert.deepEqual(codes(validate(r('Package', 'curl', { version: '1.0 && reboot' }))), ['E_UNSAFE_VALUE']);
      assert.deepEqual(codes(validate(r('Service', 'nginx'))), []);
      assert.deepEqual(codes(validate(r('Service', 'getty@tty1.service'))), []);
      assert.deepEqual(codes(validate(r('Service', 'nginx service'))), ['E_INVALID_NAME']);
      assert.deepEqual(codes(validate(r('Service', 'x`id`'))), ['E_UNSAFE_VALUE']);
      // metadata.name is the default name and is checked too
      assert.deepEqual(codes(validate(resource('User', 'Root', { server: SERVER }))), ['E_INVALID_NAME']);
    });
    it('reports content together with contentBase64, bad base64 and duplicate objects', () => {
      assert.deepEqual(codes(validate(resource('File', 'f', { server: SERVER, path: '/x', content: 'a', contentBase64: 'YQ==' }))), ['E_CONFLICT']);
      assert.deepEqual(codes(validate(resource('File', 'f', { server: SERVER, path: '/x', contentBase64: 'not base64!' }))), ['E_INVALID_BASE64']);
      const twin = resource('File', 'g', { server: SERVER, path: '/x' });
      const d = validate(resource('File', 'f', { server: SERVER, path: '/x' }), 'linux', [twin]);
      assert.deepEqual(codes(d), ['E_DUPLICATE_OBJECT']);
      assert.match(d[0].message, /conf\/File\/g/);
    });
  });

  describe('validate (windows)', () => {
    it('accepts drive-letter paths and Windows names', () => {
      assert.deepEqual(validate(resource('Directory', 'd', { server: SERVER, path: 'C:\\Shares\\Klasse 5a' }), 'windows'), []);
      assert.deepEqual(validate(resource('User', 'Lehrer.Mueller', { server: SERVER, comment: 'Herr Müller, Mathe' }), 'windows'), []);
      assert.deepEqual(validate(resource('Group', 'Lehrkräfte Grundschule', { server: SERVER, members: ['Lehrer.Mueller'] }), 'windows'), []);
    });
    it('refuses POSIX paths, .. segments, forbidden characters and Linux-only fields', () => {
      const w = (spec: Record<string, unknown>, kind = 'File') => codes(validate(resource(kind, 'x', { server: SERVER, ...spec }), 'windows'));
      assert.deepEqual(w({ path: '/etc/motd' }), ['E_INVALID_PATH']);
      assert.deepEqual(w({ path: 'C:\\Shares\\..\\Windows' }), ['E_INVALID_PATH']);
      assert.deepEqual(w({ path: 'C:\\a\\b?.txt' }), ['E_INVALID_PATH']);
      assert.deepEqual(w({ path: 'C:\\a\\$(calc)' }), ['E_UNSAFE_VALUE']);
      assert.deepEqual(w({ path: 'C:\\a`b' }), ['E_UNSAFE_VALUE']);
      assert.deepEqual(w({ path: 'C:\\a', mode: '0644' }), ['E_UNSUPPORTED_FIELD']);
      assert.deepEqual(w({ name: 'ThisNameIsTooLongForWindows' }, 'User'), ['E_INVALID_NAME']);
      assert.deepEqual(w({ name: 'a"b' }, 'User'), ['E_INVALID_NAME']);
      assert.deepEqual(w({ name: 'ok', uid: 1000, shell: '/bin/sh' }, 'User'), ['E_UNSUPPORTED_FIELD', 'E_UNSUPPORTED_FIELD']);
    });
    it('accepts Windows service names with $ and spaces, still refusing injection, quotes and slashes', () => {
      const svc = (name: string, os: 'linux' | 'windows' = 'windows') => codes(validate(resource('Service', 'n', { server: SERVER, name }), os));
      for (const ok of ['MSSQL$SQLEXPRESS', 'SQLAgent$SQLEXPRESS', 'MSSQL$MY_INSTANCE-2', 'Apple Mobile Device Service', 'CDPUserSvc_1a2b3', 'Net.Tcp', 'W32Time', 'a'.repeat(256)]) {
        assert.deepEqual(svc(ok), [], ok);
      }
      const refused: [string, string][] = [
        ...['MSSQL$(calc)', 'MSSQL${x}', 'a;Stop-Computer', 'a\nb', 'a\u0007b', "a'b", 'a"b', 'a`b', 'a|b'].map((n): [string, string] => [n, 'E_UNSAFE_VALUE']),
        ...['a/b', 'a\\b', '-svc', 'svc ', 'a'.repeat(257)].map((n): [string, string] => [n, 'E_INVALID_NAME']),
      ];
      for (const [name, code] of refused) assert.deepEqual(svc(name), [code], name);
      assert.match(windowsServiceNameProblem("x'y")!, /quote/);
      // Linux (systemd) keeps refusing $, at validation and at the ssh driver
      assert.deepEqual(svc('MSSQL$SQLEXPRESS', 'linux'), ['E_INVALID_NAME']);
      assert.throws(() => checkLinuxId('Service', 'MSSQL$SQLEXPRESS'), (e: Error) => e instanceof DriverError && e.opts.code === 'E_UNSAFE_VALUE');
    });

    it('accepts DOMAIN\\name and long group names where accounts are referenced (members, groups, owner, group)', () => {
      const w = (kind: string, spec: Record<string, unknown>, os: 'linux' | 'windows' = 'windows') => codes(validate(resource(kind, 'x', { server: SERVER, ...spec }), os));
      const refs = ['CONTOSO\\bob', 'BUILTIN\\Administrators', 'NT AUTHORITY\\SYSTEM', '.\\anna', 'WIN-01\\anna', 'contoso.local\\Domain Users', 'Remote Management Users', 'G'.repeat(256)];
      assert.deepEqual(w('Group', { members: refs }), []);
      assert.deepEqual(w('User', { groups: ['Remote Management Users', 'BUILTIN\\Users', '.\\Lehrkräfte Grundschule'] }), []);
      // a local user joins local groups only
      const domainGroup = validate(resource('User', 'x', { server: SERVER, groups: ['CONTOSO\\Domain Users'] }), 'windows');
      assert.deepEqual(codes(domainGroup), ['E_INVALID_NAME']);
      assert.match(domainGroup[0].message, /local user can only join local groups/);
      const named = { ...serverResource('windows'), spec: { ...serverResource('windows').spec, hostname: 'WIN-01' } };
      const onWin01 = resource('User', 'x', { server: SERVER, groups: ['win-01\\Users'] });
      assert.deepEqual(userKind.validate!(onWin01, { byAddress: new Map([named, onWin01].map((r) => [r.address, r])) }), []);
      assert.deepEqual(w('File', { path: 'C:\\a.txt', owner: 'BUILTIN\\Administrators', group: 'Remote Management Users' }), []);
      assert.deepEqual(w('Directory', { path: 'C:\\a', owner: 'CONTOSO\\bob', group: 'CONTOSO\\Domain Users' }), []);
      // still refused
      const refused: [string, string][] = [
        ...['CONTOSO\\bo;b', 'CONTOSO\\$(calc)', 'CONTOSO\\bob\nx'].map((m): [string, string] => [m, 'E_UNSAFE_VALUE']),
        ...['A\\B\\C', '\\bob', 'CONTOSO.\\bob', 'CONTOSO\\', 'CONTOSO\\b"ob', 'G'.repeat(257)].map((m): [string, string] => [m, 'E_INVALID_NAME']),
      ];
      for (const [member, code] of refused) assert.deepEqual(w('Group', { members: [member] }), [code], member);
      assert.deepEqual(w('File', { path: 'C:\\a.txt', owner: 'x\\y\\z' }), ['E_INVALID_NAME']);
      assert.match(windowsAccountProblem('CONTOSO.\\bob')!, /domain/);
      // an account's own name stays local: no domain, 20 characters for users
      assert.deepEqual(w('User', { name: 'CONTOSO\\bob' }), ['E_INVALID_NAME']);
      assert.deepEqual(w('Group', { name: 'BUILTIN\\Admins' }), ['E_INVALID_NAME']);
      assert.deepEqual(w('Group', { name: 'Remote Management Users' }), []);
      // Linux keeps its local name rule
      assert.deepEqual(w('Group', { members: ['CONTOSO\\bob'] }, 'linux'), ['E_INVALID_NAME']);
      assert.deepEqual(w('File', { path: '/a', owner: 'Remote Management Users' }, 'linux'), ['E_INVALID_NAME']);
    });

    it('refuses reserved device names and segments ending in a dot or space', () => {
      const p = (path: string) => codes(validate(resource('File', 'f', { server: SERVER, path }), 'windows'));
      for (const bad of ['C:\\Shares\\CON', 'C:\\Shares\\nul', 'C:\\Shares\\NUL.txt', 'C:\\Shares\\con.tar.gz', 'C:\\Shares\\Aux .txt', 'C:\\PRN\\x.txt', 'C:\\a\\COM1', 'C:\\a\\com9.log', 'C:\\a\\LPT1', 'C:\\a\\lpt9.txt', 'C:\\a\\COM\u00b9']) {
        assert.deepEqual(p(bad), ['E_INVALID_PATH'], bad);
        assert.match(windowsPathProblem(bad)!, /reserved device name/);
      }
      for (const bad of ['C:\\Shares\\x.', 'C:\\Shares\\x ', 'C:\\Shares\\dir.\\x.txt', 'C:\\Shares\\dir \\x.txt', 'C:\\a\\...']) {
        assert.deepEqual(p(bad), ['E_INVALID_PATH'], bad);
      }
      assert.match(windowsPathProblem('C:\\Shares\\x ')!, /dot or space/);
      for (const ok of ['C:\\Shares\\CONSOLE.txt', 'C:\\Shares\\COM10', 'C:\\Shares\\COM0', 'C:\\Shares\\nullable.txt', 'C:\\Shares\\LPT', 'C:\\Shares\\.hidden', 'C:\\Shares\\my con.txt', 'C:\\Shares\\a.b.c']) {
        assert.deepEqual(p(ok), [], ok);
      }
      // Linux paths are not Windows paths
      assert.deepEqual(codes(validate(resource('File', 'f', { server: SERVER, path: '/srv/CON' }))), []);
    });

    it('finds duplicates case-insensitively on Windows (paths, users, groups, services), case-sensitively on Linux', () => {
      const dup = (kind: string, a: Record<string, unknown>, b: Record<string, unknown>, os: 'linux' | 'windows') =>
        codes(validate(resource(kind, 'one', { server: SERVER, ...a }), os, [resource(kind, 'two', { server: SERVER, ...b })]));
      assert.deepEqual(dup('File', { path: 'C:\\A\\x.txt' }, { path: 'c:\\a\\X.TXT' }, 'windows'), ['E_DUPLICATE_OBJECT']);
      assert.deepEqual(dup('Directory', { path: 'C:\\Shares' }, { path: 'c:\\shares' }, 'windows'), ['E_DUPLICATE_OBJECT']);
      assert.deepEqual(dup('User', { name: 'Anna' }, { name: 'anna' }, 'windows'), ['E_DUPLICATE_OBJECT']);
      assert.deepEqual(dup('Group', { name: 'Lehrkräfte' }, { name: 'LEHRKRÄFTE' }, 'windows'), ['E_DUPLICATE_OBJECT']);
      assert.deepEqual(dup('Service', { name: 'w32time' }, { name: 'W32Time' }, 'windows'), ['E_DUPLICATE_OBJECT']);
      assert.deepEqual(dup('File', { path: 'C:\\A\\x.txt' }, { path: 'C:\\A\\y.txt' }, 'windows'), []);
      assert.deepEqual(dup('File', { path: '/srv/A' }, { path: '/srv/a' }, 'linux'), []);
      assert.deepEqual(dup('File', { path: '/srv/a' }, { path: '/srv/a' }, 'linux'), ['E_DUPLICATE_OBJECT']);
      const d = validate(resource('File', 'one', { server: SERVER, path: 'C:\\A' }), 'windows', [resource('File', 'two', { server: SERVER, path: 'c:\\a' })]);
      assert.match(d[0].message, /conf\/File\/two/);
    });

    it('orders by dependencies case-insensitively on Windows (owner Anna is user anna)', () => {
      const srv = serverResource('windows');
      const user = resource('User', 'anna', { server: SERVER });
      const file = resource('File', 'f', { server: SERVER, path: 'C:\\x.txt', owner: 'Anna' });
      const all = [srv, user, file];
      const byAddress = new Map(all.map((r) => [r.address, r]));
      const ctx = { byAddress, resources: all, lookup: (k: string, n: string) => byAddress.get(`${ENV}/${k}/${n}`) };
      assert.deepEqual(fileKind.expand!(file, ctx)[0].dependsOn, [`${ENV}/Server/${SERVER}`, `${ENV}/User/anna`]);
    });

    it('path helpers', () => {
      assert.equal(windowsPathProblem('D:\\Daten'), null);
      assert.equal(linuxPathProblem('/'), null);
      assert.match(linuxPathProblem('/a/../b')!, /\.\./);
    });
  });

  describe('normalize', () => {
    it('treats "644" and "0644" and the same bytes as text or base64 as equal', () => {
      assert.deepEqual(diffObject(fileKind, { mode: '644', content: 'hi\n' }, { mode: '0644', contentBase64: Buffer.from('hi\n').toString('base64') }).actions, []);
      assert.deepEqual(diffObject(fileKind, { contentBase64: 'aGk=' }, { content: 'hi' }).actions, []);
      const bin = Buffer.from([0, 1, 0xff]).toString('base64');
      assert.deepEqual(diffObject(fileKind, { contentBase64: bin }, { contentBase64: bin }).actions, []);
      const d = diffObject(fileKind, { content: 'new\n' }, { content: 'old\n', mode: '0600' });
      assert.deepEqual(d.diff, [{ path: '/content', before: 'old\n', after: 'new\n' }], 'text stays text so plans can show a unified diff');
      assert.deepEqual(fileKind.normalize!({ contentBase64: bin }), { contentBase64: bin }, 'NUL bytes stay base64');
    });
    it('sorts group lists', () => {
      assert.deepEqual(diffObject(userKind, { groups: ['b', 'a'] }, { groups: ['a', 'b'], uid: 1 }).actions, []);
      assert.deepEqual(diffObject(groupKind, { members: ['y', 'x'] }, { members: ['x', 'y'] }).actions, []);
    });
  });

  describe('expand', () => {
    it('makes one desired object per resource, with only the fields set, and ordering edges', () => {
      const srv = serverResource();
      const user = resource('User', 'u1', { server: SERVER, name: 'alice', groups: ['staff'] });
      const group = resource('Group', 'staff', { server: SERVER, members: ['alice'] });
      const dir = resource('Directory', 'd', { server: SERVER, path: '/srv/www' });
      const file = resource('File', 'f', { server: SERVER, path: '/srv/www/index.html', content: 'x', mode: '644', owner: 'alice', group: 'staff' });
      const gone = resource('File', 'g', { server: SERVER, path: '/srv/old', content: 'x', ensure: 'absent' });
      const all = [srv, user, group, dir, file, gone];
      const byAddress = new Map(all.map((r) => [r.address, r]));
      const ctx = { byAddress, resources: all, lookup: (k: string, n: string) => byAddress.get(`${ENV}/${k}/${n}`) };
      const [f] = fileKind.expand!(file, ctx);
      assert.equal(f.target, `${ENV}/Server/${SERVER}`);
      assert.equal(f.id, '/srv/www/index.html');
      assert.deepEqual(f.state, { content: 'x', mode: '644', owner: 'alice', group: 'staff' });
      assert.deepEqual(f.dependsOn, [`${ENV}/Directory/d`, `${ENV}/Group/staff`, `${ENV}/Server/${SERVER}`, `${ENV}/User/u1`]);
      const [u] = userKind.expand!(user, ctx);
      assert.equal(u.id, 'alice');
      assert.deepEqual(u.dependsOn, [`${ENV}/Group/staff`, `${ENV}/Server/${SERVER}`]);
      const [g] = groupKind.expand!(group, ctx);
      assert.deepEqual(g.dependsOn, [`${ENV}/Server/${SERVER}`], 'no cycle: the user lists the group itself');
      const [x] = fileKind.expand!(gone, ctx);
      assert.equal(x.ensure, 'absent');
      assert.deepEqual(x.state, {});
    });
  });

  it('every kind has a KindDef with area servers', () => {
    for (const k of serverKinds) assert.equal(k.area, 'servers');
  });
});
