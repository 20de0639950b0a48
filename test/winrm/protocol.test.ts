/** Building blocks of the WinRM client: MD4, NTLMv2, RC4, NTLM sealing, the MS-WSMV framing, channel binding, timeouts, XML, the constant scripts, the Windows-only kinds. */
import assert from 'node:assert/strict';
import { md4 } from '../../providers/servers/winrm/md4.js';
import { X509Certificate, createHash } from 'node:crypto';
import {
  authenticateMessage,
  challengeMessage,
  clientChannelBindings,
  negotiateMessage,
  ntowfv2,
  parseAuthenticate,
  parseChallenge,
  verifyAuthenticate,
} from '../../providers/servers/winrm/ntlm.js';
import { missingSealingFlags, NtlmSealError, NtlmSealing } from '../../providers/servers/winrm/ntlm-seal.js';
import { Rc4 } from '../../providers/servers/winrm/rc4.js';
import { decryptMessage, encryptMessage, FramingError, isEncryptedContentType, MULTI_ENCRYPTED_CHUNK } from '../../providers/servers/winrm/message-encryption.js';
import { channelBindingsHash, signatureAlgorithmOid, tlsServerEndPoint } from '../../providers/servers/winrm/channel-binding.js';
import { isoSeconds, operationTimeoutMs } from '../../providers/servers/winrm/transport.js';
import { durationMs } from '../../providers/servers/winrm/wsman.js';
import { bitString, oid, sequence } from '../../providers/lab/der.js';
import { labCertificate } from '../../providers/lab/identity.js';
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
    const negotiate = negotiateMessage();
    assert.equal(negotiate.subarray(0, 8).toString('latin1'), 'NTLMSSP\0');
    const serverChallenge = Buffer.from('0123456789abcdef', 'hex');
    const challenge = challengeMessage(serverChallenge, 'WIN-01', negotiate.readUInt32LE(12));
    const ch = parseChallenge(challenge);
    assert.deepEqual(ch.serverChallenge, serverChallenge);
    assert.equal(ch.targetName, 'WIN-01');
    assert.equal(missingSealingFlags(ch.flags), '', 'the challenge grants what the client asked for');
    const r = authenticateMessage(ch, 'WIN-01\\Administrator', 'Sécret 😀', { negotiate });
    const auth = parseAuthenticate(r.message);
    assert.equal(auth.user, 'Administrator');
    assert.equal(auth.domain, 'WIN-01');
    const exchange = { negotiate, challenge };
    const ok = verifyAuthenticate(auth, serverChallenge, 'Sécret 😀', exchange);
    assert.ok(ok.ok && ok.exportedSessionKey.equals(r.exportedSessionKey), 'key exchange: both sides hold the same session key');
    assert.deepEqual(verifyAuthenticate(auth, serverChallenge, 'Sécret', exchange), { ok: false, reason: 'credentials' });
    assert.deepEqual(verifyAuthenticate(auth, Buffer.alloc(8), 'Sécret 😀', exchange), { ok: false, reason: 'credentials' }, 'bound to the challenge');
    // the MIC covers all three messages: another NEGOTIATE, or a flipped MIC byte, is refused
    assert.deepEqual(verifyAuthenticate(auth, serverChallenge, 'Sécret 😀', { negotiate: Buffer.alloc(40), challenge }), { ok: false, reason: 'mic' });
    const tampered = Buffer.from(r.message);
    tampered[80] ^= 1;
    assert.deepEqual(verifyAuthenticate(parseAuthenticate(tampered), serverChallenge, 'Sécret 😀', exchange), { ok: false, reason: 'mic' });
    assert.equal(clientChannelBindings(auth), null, 'no channel binding over http');
    const cbt = channelBindingsHash(Buffer.from('tls-server-end-point:x'));
    const bound = parseAuthenticate(authenticateMessage(ch, 'Administrator', 'pw', { negotiate, channelBindings: cbt }).message);
    assert.deepEqual(clientChannelBindings(bound), cbt);
  });

  it('MS-NLMP 4.2.4 (NTLMv2) test vectors: the AUTHENTICATE verifies, key exchange yields the RandomSessionKey, GSS_WrapEx seals as the spec shows', () => {
    // 4.2.4.3 AUTHENTICATE_MESSAGE (User/Domain/Password, ServerChallenge 0123456789abcdef, RandomSessionKey 0x55 x 16)
    const authenticate = Buffer.from(
      '4e544c4d53535000030000001800180' + '06c00000054005400840000000c000c00480000000800080054000000100010005c00000010001000d8000000358288e2' +
        '0501280a0000000f44006f006d00610069006e00550073006500720043004f004d005000550054004500520086c35097' +
        'ac9cec102554764a57cccc19aaaaaaaaaaaaaaaa68cd0ab851e51c96aabc927bebef6a1c010100000000000000000000' +
        '00000000aaaaaaaaaaaaaaaa0000000002000c0044006f006d00610069006e0001000c00530065007200760065007200' +
        '0000000000000000c5dad2544fc9799094ce1ce90bc9d03e',
      'hex',
    );
    const auth = parseAuthenticate(authenticate);
    assert.deepEqual([auth.domain, auth.user, auth.workstation], ['Domain', 'User', 'COMPUTER']);
    const v = verifyAuthenticate(auth, Buffer.from('0123456789abcdef', 'hex'), 'Password');
    assert.ok(v.ok);
    assert.equal(v.exportedSessionKey.toString('hex'), '55'.repeat(16));
    // 4.2.4.4: client-to-server seal of "Plaintext" (UTF-16LE), flags 0xe28a8233
    const sealed = new NtlmSealing(0xe28a8233, Buffer.alloc(16, 0x55), 'client').wrap(Buffer.from('Plaintext', 'utf16le'));
    assert.equal(sealed.sealed.toString('hex'), '54e50165bf1936dc996020c1811b0f06fb5f');
    assert.equal(sealed.signature.toString('hex'), '010000007fb38ec5c55d497600000000');
  });

  it('RC4 matches the published test vectors', () => {
    for (const [key, plain, cipher] of [
      ['Key', 'Plaintext', 'bbf316e8d940af0ad3'],
      ['Wiki', 'pedia', '1021bf0420'],
      ['Secret', 'Attack at dawn', '45a01f645fc35b383552544b9bf5'],
    ]) {
      assert.equal(new Rc4(Buffer.from(key)).update(Buffer.from(plain)).toString('hex'), cipher);
    }
    const split = new Rc4(Buffer.from('Secret'));
    assert.equal(Buffer.concat([split.update(Buffer.from('Attack')), split.update(Buffer.from(' at dawn'))]).toString('hex'), '45a01f645fc35b383552544b9bf5', 'one running stream');
  });

  it('NTLM sealing: both directions, in sequence; altered, replayed or foreign messages are refused', () => {
    const key = Buffer.alloc(16, 7);
    const flags = 0xe28a8233;
    const client = new NtlmSealing(flags, key, 'client');
    const server = new NtlmSealing(flags, key, 'server');
    for (const text of ['<a/>', 'zweite Nachricht äöü', '']) {
      const w = client.wrap(Buffer.from(text));
      assert.equal(server.unwrap(w.sealed, w.signature).toString(), text);
      const back = server.wrap(Buffer.from(text + '!'));
      assert.equal(client.unwrap(back.sealed, back.signature).toString(), text + '!');
    }
    const w = client.wrap(Buffer.from('hello'));
    assert.equal(server.unwrap(w.sealed, w.signature).toString(), 'hello');
    assert.throws(() => server.unwrap(w.sealed, w.signature), NtlmSealError, 'replayed');
    const first = new NtlmSealing(flags, key, 'client').wrap(Buffer.from('hello'));
    const altered = Buffer.from(first.sealed);
    altered[0] ^= 1;
    assert.throws(() => new NtlmSealing(flags, key, 'server').unwrap(altered, first.signature), NtlmSealError, 'altered');
    assert.throws(() => new NtlmSealing(flags, Buffer.alloc(16, 8), 'server').unwrap(first.sealed, first.signature), NtlmSealError, 'another key');
    assert.equal(new NtlmSealing(flags, key, 'server').unwrap(first.sealed, first.signature).toString(), 'hello');
    assert.throws(() => new NtlmSealing(flags & ~0x20, key, 'client'), /SEAL/, 'no sealing without the SEAL flag');
  });

  it('MS-WSMV 2.2.9.1 framing: one part, 16 KiB parts, and malformed bodies refused', () => {
    const key = Buffer.alloc(16, 3);
    const plain = Buffer.from('<s:Envelope>' + 'x'.repeat(40_000) + '</s:Envelope>');
    for (const chunk of [undefined, MULTI_ENCRYPTED_CHUNK]) {
      const client = new NtlmSealing(0xe28a8233, key, 'client');
      const server = new NtlmSealing(0xe28a8233, key, 'server');
      const { contentType, body } = encryptMessage(plain, (p) => client.wrap(p), chunk);
      assert.ok(isEncryptedContentType(contentType));
      assert.match(contentType, chunk ? /^multipart\/x-multi-encrypted;/ : /^multipart\/encrypted;/);
      const parts = body.toString('latin1').split('\tContent-Type: application/octet-stream').length - 1;
      assert.equal(parts, chunk ? 3 : 1);
      assert.match(body.toString('latin1'), /^--Encrypted Boundary\r\n\tContent-Type: application\/HTTP-SPNEGO-session-encrypted\r\n\tOriginalContent: type=application\/soap\+xml;charset=UTF-8;Length=\d+\r\n--Encrypted Boundary\r\n/);
      assert.ok(body.subarray(-24).equals(Buffer.from('--Encrypted Boundary--\r\n')));
      assert.ok(decryptMessage(body, (s, sig) => server.unwrap(s, sig)).equals(plain));
    }
    const client = new NtlmSealing(0xe28a8233, key, 'client');
    const { body } = encryptMessage(Buffer.from('<x/>'), (p) => client.wrap(p));
    const fresh = () => new NtlmSealing(0xe28a8233, key, 'server');
    assert.throws(() => decryptMessage(body.subarray(0, body.length - 30), (s, sig) => fresh().unwrap(s, sig)), FramingError);
    assert.throws(() => decryptMessage(Buffer.concat([body, Buffer.from('junk')]), (s, sig) => fresh().unwrap(s, sig)), FramingError);
    assert.throws(() => decryptMessage(Buffer.from(body.toString('latin1').replace('Length=4', 'Length=9'), 'latin1'), (s, sig) => fresh().unwrap(s, sig)), FramingError);
    assert.ok(!isEncryptedContentType('application/soap+xml;charset=UTF-8'));
    assert.ok(!isEncryptedContentType('multipart/encrypted;protocol="application/HTTP-Kerberos-session-encrypted"'));
  });

  it('channel binding: tls-server-end-point hash by signature algorithm (RFC 5929 4.1), none for Ed25519', () => {
    const fakeCert = (sigOid: string) => sequence(sequence(), sequence(oid(sigOid)), bitString(Buffer.alloc(4)));
    const lab = labCertificate('x/Server/w', 'W');
    const der = new X509Certificate(lab.certPem).raw;
    assert.equal(signatureAlgorithmOid(der), '1.2.840.10045.4.3.2');
    const b = tlsServerEndPoint(der);
    assert.ok('applicationData' in b && b.hash === 'sha256');
    assert.equal(b.applicationData.toString('latin1'), 'tls-server-end-point:' + createHash('sha256').update(der).digest().toString('latin1'));
    assert.equal((tlsServerEndPoint(fakeCert('1.2.840.113549.1.1.12')) as { hash: string }).hash, 'sha384');
    assert.equal((tlsServerEndPoint(fakeCert('1.2.840.113549.1.1.5')) as { hash: string }).hash, 'sha256', 'SHA-1 is replaced by SHA-256');
    assert.deepEqual(tlsServerEndPoint(fakeCert('1.3.101.112')), { undefinedFor: 'Ed25519' });
    // gss_channel_bindings_struct: 4 zero words, then the length and the data (as ntlm-auth's GssChannelBindingsStruct packs it)
    const data = Buffer.from('tls-server-end-point:abc');
    const struct = Buffer.concat([Buffer.alloc(16), Buffer.from([data.length, 0, 0, 0]), data]);
    assert.deepEqual(channelBindingsHash(data), createHash('md5').update(struct).digest());
    assert.throws(() => signatureAlgorithmOid(Buffer.from([0x30, 0x05, 0x01])), /truncated/);
  });

  it('OperationTimeout stays below the HTTP timeout', () => {
    for (const ms of [60_000, 30_000, 5_000, 150, 2]) {
      const op = operationTimeoutMs(ms);
      assert.ok(op > 0 && op < ms, `${ms} -> ${op}`);
    }
    assert.equal(isoSeconds(operationTimeoutMs(60_000)), 'PT50S');
    assert.equal(isoSeconds(operationTimeoutMs(5_000)), 'PT3.75S');
    assert.equal(durationMs('PT50S'), 50_000);
    assert.equal(durationMs('PT3.75S'), 3_750);
    assert.equal(durationMs('PT1M30S'), 90_000);
    assert.equal(durationMs('P1D'), undefined);
    assert.equal(durationMs(''), undefined);
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
