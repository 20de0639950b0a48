/**
 * The lab's TLS certificates (providers/lab/tls-certificate.ts): ECDSA P-256
 * with RFC 6979 deterministic signatures, reproducible from the seed, and
 * accepted by independent TLS stacks: Node's TLS client and the openssl CLI
 * here, Python's requests in ./pywinrm.test.ts. The fingerprints the demo
 * manifests pin must be the ones the lab presents.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { X509Certificate, createPrivateKey, createPublicKey } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import tls from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { parseAllDocuments } from 'yaml';
import { packageRoot } from '../../engine/paths.js';
import { labCertificate } from '../../providers/lab/identity.js';
import { P256_ORDER, p256PrivateKey, p256PublicPoint, signP256Sha256 } from '../../providers/lab/tls-certificate.js';
import { aoscxCertFingerprint } from '../../providers/network/aoscx/simulator/index.js';
import { labWinrmFingerprint } from '../../providers/servers/winrm/index.js';

const hasOpenssl = spawnSync('openssl', ['version']).status === 0;

async function withTlsServer<T>(cert: { certPem: string; keyPem: string }, fn: (port: number) => Promise<T>): Promise<T> {
  const server = https.createServer({ cert: cert.certPem, key: cert.keyPem }, (_req, res) => res.end('ok'));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  try {
    return await fn((server.address() as AddressInfo).port);
  } finally {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  }
}

function run(cmd: string, args: string[], input = ''): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, out }));
    child.stdin.end(input);
  });
}

describe('lab TLS certificates (ECDSA P-256, RFC 6979)', function () {
  this.timeout(30_000);

  it('signs as RFC 6979 appendix A.2.5 says (P-256, SHA-256, "sample" and "test")', () => {
    const x = 0xc9afa9d845ba75166b5c215767b1d6934e50c3db36e89b127b8a622b120f6721n;
    assert.equal(p256PublicPoint(p256PrivateKey(x)).x.toString('hex'), '60fed4ba255a9d31c961eb74c6356d68c049b8923b61fa6ce669622e60f29fb6');
    const hex = (n: bigint) => n.toString(16).padStart(64, '0');
    const sample = signP256Sha256(x, Buffer.from('sample'));
    assert.deepEqual([hex(sample.k), hex(sample.r), hex(sample.s)], [
      'a6e3c57dd01abe90086538398355dd4c3b17aa873382b0f24d6129493d8aad60',
      'efd48b2aacb6a8fd1140dd9cd45e81d69d2c877b56aaf991c34d0ea84eaf3716',
      'f7cb1c942d657c41d436c7a1b6e29f65f3e900dbb9aff4064dc4ab2f843acda8',
    ]);
    const test = signP256Sha256(x, Buffer.from('test'));
    assert.deepEqual([hex(test.k), hex(test.r), hex(test.s)], [
      'd16b6ae827f17175e040871a1c7ec3500192c4c92677336ec2537acaee0008e0',
      'f1abb023518351cd71d881567b1ea663ed3efcf6c5132b354f28d3b0b7d38367',
      '019f4113742a2b14bd25926b49c649155f267e60d3814b4c0cc84250e46f0083',
    ]);
    assert.ok(sample.r < P256_ORDER && sample.s < P256_ORDER);
  });

  it('is the same certificate for the same seed, another for another seed, and its signature and key check out', () => {
    const a = labCertificate('verwaltung/Server/fs-01', 'verw-fs-01');
    const b = labCertificate('verwaltung/Server/fs-01', 'verw-fs-01');
    assert.equal(a.certPem, b.certPem);
    assert.equal(a.keyPem, b.keyPem);
    assert.notEqual(labCertificate('verwaltung/Server/fs-02', 'verw-fs-01').fingerprint256, a.fingerprint256);
    const x509 = new X509Certificate(a.certPem);
    assert.equal(x509.fingerprint256, a.fingerprint256);
    assert.ok(x509.verify(x509.publicKey), 'self-signature verifies (OpenSSL, not our code)');
    assert.ok(x509.checkPrivateKey(createPrivateKey(a.keyPem)));
    assert.equal(createPublicKey(a.keyPem).asymmetricKeyDetails?.namedCurve, 'prime256v1');
    assert.equal(x509.subject, 'CN=verw-fs-01');
    assert.equal(x509.subjectAltName, 'DNS:localhost, DNS:verw-fs-01, IP Address:127.0.0.1');
    assert.ok(x509.checkIP('127.0.0.1') && x509.checkHost('localhost'));
  });

  it("Node's TLS client accepts it as the server's certificate (trusted as its own anchor)", async () => {
    const cert = labCertificate('x/Server/w', 'win-lab');
    await withTlsServer(cert, async (port) => {
      for (const servername of [undefined, 'localhost', 'win-lab']) {
        const authorized = await new Promise<boolean>((resolve, reject) => {
          const s = tls.connect({ host: '127.0.0.1', port, ca: cert.certPem, servername, checkServerIdentity: (h, c) => tls.checkServerIdentity(servername ?? '127.0.0.1', c) }, () => {
            resolve(s.authorized);
            s.end();
          });
          s.on('error', reject);
        });
        assert.ok(authorized, servername ?? '127.0.0.1');
      }
    });
  });

  it('openssl reads it as ecdsa-with-SHA256 on P-256, and s_client verifies it', async function () {
    if (!hasOpenssl) this.skip();
    const cert = labCertificate('x/Server/w', 'win-lab');
    const text = await run('openssl', ['x509', '-noout', '-text'], cert.certPem);
    assert.equal(text.code, 0, text.out);
    for (const want of ['Signature Algorithm: ecdsa-with-SHA256', 'Public Key Algorithm: id-ecPublicKey', 'NIST CURVE: P-256', 'DNS:localhost', 'IP Address:127.0.0.1', 'TLS Web Server Authentication']) {
      assert.ok(text.out.includes(want), want);
    }
    const caFile = join(mkdtempSync(join(tmpdir(), 'einklang-cert-')), 'lab.pem');
    writeFileSync(caFile, cert.certPem);
    await withTlsServer(cert, async (port) => {
      const s = await run('openssl', ['s_client', '-connect', `127.0.0.1:${port}`, '-CAfile', caFile, '-verify_return_error', '-verify_ip', '127.0.0.1', '-brief'], 'Q\n');
      assert.equal(s.code, 0, s.out);
      assert.match(s.out, /Verification: OK/);
      assert.match(s.out, /Signature type: ECDSA/);
    });
  });

  it('the fingerprints the demo manifests pin are the ones the lab presents', () => {
    const docs = (file: string) => parseAllDocuments(readFileSync(join(packageRoot, 'environments/demo-city', file), 'utf8')).map((d) => d.toJS());
    const fs01 = docs('verwaltung/windows.yaml').find((d) => d.kind === 'Server' && d.metadata.name === 'fs-01');
    assert.equal(fs01.spec.connection.tlsFingerprint, labWinrmFingerprint('verwaltung/Server/fs-01', fs01.spec.hostname));
    for (const env of ['schule-nord', 'gymnasium-sued']) {
      const [e] = docs(`${env}/environment.yaml`);
      const params = e.spec.profiles.find((p: { path: string }) => p.path === 'profiles/school-network').params;
      assert.equal(params.accessCert, aoscxCertFingerprint({ address: `${env}/Switch/access-01`, name: 'access-01' }), env);
    }
  });
});
