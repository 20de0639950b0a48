/**
 * Deterministic TLS server certificates for lab simulators: ECDSA P-256 with
 * SHA-256 (`ecdsa-with-SHA256`), self-signed, byte-for-byte the same for the
 * same seed on every run and machine, so manifests can pin their fingerprint.
 *
 * Why ECDSA and not Ed25519 (what the lab used before): Windows' TLS stack
 * (Schannel) offers RSA and ECDSA server certificates, not Ed25519, and
 * RFC 5929 section 4.1 defines the `tls-server-end-point` channel binding
 * only for a signature algorithm with a single hash function ("if the
 * certificate's signatureAlgorithm uses no hash functions ... the channel
 * bindings are undefined"). Ed25519 has none, so real NTLM clients fail on it:
 * requests-ntlm 1.1.0 (`_get_certificate_hash` in requests_ntlm.py, Debian
 * python3-requests-ntlm) asks `cert.signature_hash_algorithm` for the hash of
 * the channel binding. With ecdsa-with-SHA256 that hash is SHA-256.
 *
 * Determinism: the private key d is derived from the seed (SHA-256, retried
 * until 1 <= d < n), and the signature uses the deterministic nonce of
 * RFC 6979 section 3.2 (HMAC-SHA-256 DRBG over d and H(m)), checked against
 * the RFC's test vectors (appendix A.2.5) in test/winrm/lab-certificate.test.ts.
 * The scalar arithmetic (nonce, s = k^-1 (e + d r) mod n) is BigInt here;
 * the point multiplications d*G and k*G are done by OpenSSL: importing a
 * scalar as a P-256 private key makes it compute the public point, whose x
 * coordinate is what r needs. (Node's own crypto.sign uses random nonces, so
 * it cannot give reproducible certificates.)
 *
 * These keys are for simulators on loopback only; anyone can derive them from
 * the seed.
 */
import { createHash, createHmac, createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { bitString, explicit, implicit, octetString, oid, sequence, set, unsignedInteger, utf8String, x509Time } from './der.js';

/** Order of the P-256 base point (FIPS 186-4 D.1.2.3 / SEC 2 secp256r1). */
export const P256_ORDER = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;

const OID = {
  ecPublicKey: '1.2.840.10045.2.1',
  prime256v1: '1.2.840.10045.3.1.7',
  ecdsaWithSha256: '1.2.840.10045.4.3.2',
  commonName: '2.5.4.3',
  subjectAltName: '2.5.29.17',
  extKeyUsage: '2.5.29.37',
  serverAuth: '1.3.6.1.5.5.7.3.1',
} as const;

const bytes32 = (x: bigint): Buffer => Buffer.from(x.toString(16).padStart(64, '0'), 'hex');
const bigint = (b: Buffer): bigint => (b.length ? BigInt('0x' + b.toString('hex')) : 0n);

/** A P-256 private key with scalar d, as OpenSSL key (SEC 1 ECPrivateKey without the public point: OpenSSL computes d*G). */
export function p256PrivateKey(d: bigint): KeyObject {
  const namedCurve = explicit(0, oid(OID.prime256v1));
  const ecPrivateKey = sequence(unsignedInteger(Buffer.from([1])), octetString(bytes32(d)), namedCurve);
  return createPrivateKey({ key: ecPrivateKey, format: 'der', type: 'sec1' });
}

/** The public point d*G as affine coordinates (32 bytes each). */
export function p256PublicPoint(key: KeyObject): { x: Buffer; y: Buffer } {
  const jwk = createPublicKey(key).export({ format: 'jwk' }) as { x: string; y: string };
  return { x: Buffer.from(jwk.x, 'base64url'), y: Buffer.from(jwk.y, 'base64url') };
}

/**
 * RFC 6979 section 3.2: the candidate nonces for private key d and message
 * hash h1 (SHA-256, so hlen = qlen = 256 and bits2int is plain big-endian).
 * The first candidate in [1, n-1] is k; the later ones are only needed when
 * r or s comes out 0 (step h.3).
 */
export function* rfc6979Nonces(d: bigint, h1: Buffer): Generator<bigint> {
  const hmac = (key: Buffer, ...data: Buffer[]) => createHmac('sha256', key).update(Buffer.concat(data)).digest();
  const x = bytes32(d);
  const h = bytes32(bigint(h1) % P256_ORDER); // bits2octets
  let V = Buffer.alloc(32, 0x01);
  let K = Buffer.alloc(32, 0x00);
  K = hmac(K, V, Buffer.from([0x00]), x, h);
  V = hmac(K, V);
  K = hmac(K, V, Buffer.from([0x01]), x, h);
  V = hmac(K, V);
  for (;;) {
    V = hmac(K, V);
    const k = bigint(V);
    if (k >= 1n && k < P256_ORDER) yield k;
    K = hmac(K, V, Buffer.from([0x00]));
    V = hmac(K, V);
  }
}

function mod(a: bigint, n: bigint): bigint {
  const r = a % n;
  return r < 0n ? r + n : r;
}

/** a^-1 mod n (extended Euclid; n prime, a not 0 mod n). */
export function modInverse(a: bigint, n: bigint): bigint {
  let [r0, r1] = [mod(a, n), n];
  let [s0, s1] = [1n, 0n];
  while (r1 !== 0n) {
    const q = r0 / r1;
    [r0, r1] = [r1, r0 - q * r1];
    [s0, s1] = [s1, s0 - q * s1];
  }
  if (r0 !== 1n) throw new Error('not invertible');
  return mod(s0, n);
}

/** Deterministic ECDSA P-256 / SHA-256 signature (RFC 6979) of `message` with private scalar d. */
export function signP256Sha256(d: bigint, message: Buffer): { r: bigint; s: bigint; k: bigint } {
  const h1 = createHash('sha256').update(message).digest();
  const e = bigint(h1);
  for (const k of rfc6979Nonces(d, h1)) {
    const r = mod(bigint(p256PublicPoint(p256PrivateKey(k)).x), P256_ORDER);
    if (r === 0n) continue;
    const s = mod(modInverse(k, P256_ORDER) * (e + d * r), P256_ORDER);
    if (s === 0n) continue;
    return { r, s, k };
  }
  throw new Error('unreachable: the nonce generator is endless');
}

/** The lab key of a seed: SHA-256 of a label and the seed, redrawn (counter) until it is a valid scalar. */
export function labScalar(seedText: string): bigint {
  for (let i = 0; ; i++) {
    const d = bigint(createHash('sha256').update(`einklang-lab:tls:${seedText}:${i}`).digest());
    if (d >= 1n && d < P256_ORDER) return d;
  }
}

export interface TlsCertificate {
  /** The certificate, DER. */
  der: Buffer;
  certPem: string;
  /** The private key, PKCS#8 PEM. */
  keyPem: string;
}

const pem = (label: string, der: Buffer) => `-----BEGIN ${label}-----\n${der.toString('base64').replace(/.{1,64}/g, '$&\n')}-----END ${label}-----\n`;

/** A DNS name a certificate may carry (RFC 1123 labels). */
const HOSTNAME = /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

/**
 * A self-signed ECDSA P-256 certificate for `commonName`, valid 2020..2099,
 * with subjectAltName DNS localhost (and commonName when it is a host name),
 * IP 127.0.0.1, and extendedKeyUsage serverAuth. No keyUsage extension: with
 * one, OpenSSL would require keyCertSign before it treats the certificate as
 * self-issued, and clients could not trust it as its own anchor (`-CAfile`).
 */
export function ecdsaLabCertificate(seedText: string, commonName: string): TlsCertificate {
  const d = labScalar(seedText);
  const key = p256PrivateKey(d);
  const { x, y } = p256PublicPoint(key);
  const name = sequence(set(sequence(oid(OID.commonName), utf8String(commonName))));
  const serial = unsignedInteger(Buffer.concat([Buffer.from([0x01]), createHash('sha256').update(seedText).digest().subarray(0, 8)]));
  const signatureAlgorithm = sequence(oid(OID.ecdsaWithSha256)); // no parameters (RFC 5758 section 3.2)
  const spki = sequence(sequence(oid(OID.ecPublicKey), oid(OID.prime256v1)), bitString(Buffer.concat([Buffer.from([0x04]), x, y])));
  const dnsNames = ['localhost', ...(HOSTNAME.test(commonName) && commonName.toLowerCase() !== 'localhost' ? [commonName] : [])];
  const san = sequence(...dnsNames.map((n) => implicit(2, Buffer.from(n, 'ascii'))), implicit(7, Buffer.from([127, 0, 0, 1])));
  const extensions = sequence(
    sequence(oid(OID.subjectAltName), octetString(san)),
    sequence(oid(OID.extKeyUsage), octetString(sequence(oid(OID.serverAuth)))),
  );
  const tbs = sequence(
    explicit(0, unsignedInteger(Buffer.from([2]))), // v3
    serial,
    signatureAlgorithm,
    name,
    sequence(x509Time('20200101000000Z'), x509Time('20991231235959Z')),
    name,
    spki,
    explicit(3, extensions),
  );
  const { r, s } = signP256Sha256(d, tbs);
  const signature = sequence(unsignedInteger(bytes32(r)), unsignedInteger(bytes32(s)));
  const der = sequence(tbs, signatureAlgorithm, bitString(signature));
  return { der, certPem: pem('CERTIFICATE', der), keyPem: key.export({ format: 'pem', type: 'pkcs8' }).toString() };
}
