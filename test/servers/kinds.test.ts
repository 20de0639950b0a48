/** Unit tests of the servers area's kinds: validation (OS-aware, positioned), normalisation, expansion. */
import assert from 'node:assert/strict';
import type { Diagnostic, Resource } from '../../engine/types.js';
import { diffObject } from '../../engine/diff.js';
import { fileKind, serverKindDef, serverKinds, userKind, groupKind, linuxPathProblem, windowsPathProblem } from '../../providers/servers/kinds.js';
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
