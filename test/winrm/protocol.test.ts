/** Building blocks of the WinRM client: MD4, NTLMv2, XML, the constant scripts, the Windows-only kinds. */
import assert from 'node:assert/strict';
import { md4 } from '../../providers/servers/winrm/md4.js';
import {
  authenticateMessage,
  challengeMessage,
  negotiateMessage,
  ntowfv2,
  parseAuthenticate,
  parseChallenge,
  verifyAuthenticate,
} from '../../providers/servers/winrm/ntlm.js';
import { parseXml, XmlError } from '../../providers/servers/winrm/xml.js';
import { BOOTSTRAP, OPS, SCRIPTS, buildScript, recogniseScript } from '../../providers/servers/winrm/scripts.js';
import { canonicalRegistryPath, registryValueKind, windowsFeatureKind } from '../../providers/servers/winrm/kinds.js';
import { TARGET_ADDRESS, resource, windowsServer } from './helpers.js';

describe('winrm building blocks', () => {
  it('MD4 matches RFC 1320 test vectors', () => {
    const v: [string, string][] = [
      ['', '31d6cfe0d16ae931b73c59d7e0c089c0'],
      ['a', 'bde52cb31de33e46245e05fbdbd6fb24'],
      ['abc', 'a448017aaf21d8525fc10ae87aa6729d'],
      ['message digest', 'd9130a8164549fe818874806e1c7014b'],
      ['abcdefghijklmnopqrstuvwxyz', 'd79e1c308aa5bbcdeea8ed63df412da9'],
      ['12345678901234567890123456789012345678901234567890123456789012345678901234567890', 'e33b4ddc9c38f2199c3e7b164fcc0536'],
    ];
    for (const [input, want] of v) assert.equal(md4(Buffer.from(input)).toString('hex'), want, input);
  });

  it('NTLMv2 matches the MS-NLMP test vector and round-trips through the simulator side', () => {
    assert.equal(ntowfv2('Password', 'User', 'Domain').toString('hex'), '0c868a403bfd7a93a3001ef22ef02e3f');
    assert.equal(negotiateMessage().subarray(0, 8).toString('latin1'), 'NTLMSSP\0');
    const serverChallenge = Buffer.from('0123456789abcdef', 'hex');
    const ch = parseChallenge(challengeMessage(serverChallenge, 'WIN-01'));
    assert.deepEqual(ch.serverChallenge, serverChallenge);
    assert.equal(ch.targetName, 'WIN-01');
    const auth = parseAuthenticate(authenticateMessage(ch, 'WIN-01\\Administrator', 'Sécret 😀'));
    assert.equal(auth.user, 'Administrator');
    assert.equal(auth.domain, 'WIN-01');
    assert.ok(verifyAuthenticate(auth, serverChallenge, 'Sécret 😀'));
    assert.ok(!verifyAuthenticate(auth, serverChallenge, 'Sécret'));
    assert.ok(!verifyAuthenticate(auth, Buffer.alloc(8), 'Sécret 😀'), 'bound to the challenge');
  });

  it('XML reader resolves namespaces and refuses DOCTYPE', () => {
    const el = parseXml('<a:x xmlns:a="urn:a" xmlns="urn:d"><y q="1">t&amp;&#x41;<![CDATA[<z>]]></y></a:x>');
    assert.equal(el.ns, 'urn:a');
    assert.equal(el.children[0].ns, 'urn:d');
    assert.equal(el.children[0].text, 't&A<z>');
    assert.throws(() => parseXml('<!DOCTYPE x [<!ENTITY e "x">]><x>&e;</x>'), XmlError);
    assert.throws(() => parseXml('<a><b></a>'), XmlError);
  });

  it('scripts are constants: two payloads differ only in the base64 payload line', () => {
    const a = buildScript('apply-file', { path: "C:\\x'; Remove-Item C:\\ -Recurse; '", contentBase64: '' }).split('\r\n');
    const b = buildScript('apply-file', { path: 'C:\\y', contentBase64: 'AAAA' }).split('\r\n');
    assert.equal(a.length, b.length);
    const differing = a.map((l, i) => (l === b[i] ? null : i)).filter((i) => i !== null) as number[];
    assert.equal(differing.length, 1);
    assert.match(a[differing[0]], /^\$payload = '[A-Za-z0-9+/=]+'$/);
    for (const op of OPS) {
      assert.ok(SCRIPTS[op].startsWith(`# einklang-op: ${op}\r\n`));
      assert.ok(!SCRIPTS[op].includes('${'), 'no template leftovers');
      assert.equal(SCRIPTS[op].split('__EINKLANG_PAYLOAD__').length, 2, 'exactly one payload slot');
    }
    assert.ok(!BOOTSTRAP.includes('$payload'));
  });

  it('recogniseScript accepts only the constant scripts', () => {
    const s = buildScript('read', { objects: [{ kind: 'File', id: 'C:\\a' }] });
    assert.deepEqual(recogniseScript(s), { op: 'read', payload: { objects: [{ kind: 'File', id: 'C:\\a' }] } });
    assert.equal(recogniseScript(s.replace("$ErrorActionPreference = 'Stop'", "Remove-Item C:\\ -Recurse; $ErrorActionPreference = 'Stop'")), null);
    assert.equal(recogniseScript(s + '\r\nRemove-Item C:\\'), null);
    assert.equal(recogniseScript(s.replace('# einklang-op: read', '# einklang-op: apply-file')), null);
    assert.equal(recogniseScript(s.replace(/\$payload = '[^']*'/, "$payload = 'x'; Remove-Item C:\\; '")), null);
    assert.equal(recogniseScript('Get-Process'), null);
  });

  it('WindowsFeature and RegistryValue validate, expand and normalise', () => {
    const srv = windowsServer();
    const linux = { ...srv, spec: { ...srv.spec, os: 'linux' } };
    const by = (...r: any[]) => ({ byAddress: new Map(r.map((x) => [x.address, x])) });
    const f = resource('WindowsFeature', 'Web-Server', {});
    assert.deepEqual(windowsFeatureKind.validate!(f, by(srv, f)), []);
    assert.deepEqual(windowsFeatureKind.validate!(f, by(linux, f)).map((d) => d.code), ['E_UNSUPPORTED_OS']);
    const bad = resource('WindowsFeature', 'x', { name: 'Web;Server' });
    assert.deepEqual(windowsFeatureKind.validate!(bad, by(srv, bad)).map((d) => d.code), ['E_UNSAFE_VALUE']);

    const r = resource('RegistryValue', 'smb1', { path: 'hkey_local_machine\\SYSTEM\\X', name: 'SMB1', type: 'DWord', data: '0x0' });
    assert.deepEqual(registryValueKind.validate!(r, by(srv, r)), []);
    const ctx = { byAddress: new Map(), resources: [], lookup: () => undefined };
    const [o] = registryValueKind.expand!(r, ctx);
    assert.equal(o.id, 'HKLM:\\SYSTEM\\X\\SMB1');
    assert.equal(o.target, TARGET_ADDRESS);
    assert.deepEqual(registryValueKind.normalize!({ ...o.state }), { path: 'HKLM:\\SYSTEM\\X', name: 'SMB1', type: 'DWord', data: 0 });
    assert.deepEqual(registryValueKind.normalize!({ type: 'QWord', data: 5 }), { type: 'QWord', data: '5' });
    assert.deepEqual(registryValueKind.normalize!({ type: 'Binary', data: '0A:ff' }), { type: 'Binary', data: '0aff' });
    assert.equal(canonicalRegistryPath('HKXX:\\a'), null);
    const codes = (spec: Record<string, unknown>) => {
      const x = resource('RegistryValue', 'v', spec);
      return registryValueKind.validate!(x, by(srv, x)).map((d) => d.code);
    };
    assert.deepEqual(codes({ path: 'HKXX:\\a', name: 'n', type: 'String', data: 'x' }), ['E_INVALID_PATH']);
    assert.deepEqual(codes({ path: 'HKLM:\\a\\\\b', name: 'n', type: 'String', data: 'x' }), ['E_INVALID_PATH']);
    assert.deepEqual(codes({ path: 'HKLM:\\a', name: 'n', type: 'DWord', data: 4294967296 }), ['E_INVALID_VALUE']);
    assert.deepEqual(codes({ path: 'HKLM:\\a', name: 'n', type: 'Binary', data: 'xyz' }), ['E_INVALID_VALUE']);
    assert.deepEqual(codes({ path: 'HKLM:\\a', name: 'n' }), ['E_REQUIRED', 'E_REQUIRED']);
    assert.deepEqual(codes({ path: 'HKLM:\\a', name: 'n', ensure: 'absent' }), []);
    assert.deepEqual(codes({ path: 'HKLM:\\a', name: 'a\\b', type: 'String', data: '' }), ['E_INVALID_NAME']);
    // data is data: metacharacters are allowed there
    assert.deepEqual(codes({ path: 'HKLM:\\a', name: 'n', type: 'String', data: "'; Remove-Item C:\\ -Recurse; '" }), []);
    const d1 = resource('RegistryValue', 'v1', { path: 'HKLM:\\A', name: 'N', type: 'String', data: 'x' });
    const d2 = resource('RegistryValue', 'v2', { path: 'hklm:\\a', name: 'n', type: 'String', data: 'y' });
    assert.deepEqual(registryValueKind.validate!(d1, by(srv, d1, d2)).map((d) => d.code), ['E_DUPLICATE_OBJECT']);
  });
});
