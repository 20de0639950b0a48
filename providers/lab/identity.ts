/**
 * Deterministic identities for lab simulators.
 *
 * Manifests pin host keys (SSH) and certificate fingerprints (TLS). A lab that
 * generated fresh keys on every start could never match what a committed
 * manifest pins, and committing private keys is not an option. So the lab
 * derives every identity from a seed string (the target's address): the same
 * seed always gives the same Ed25519 key, the same certificate bytes and so the
 * same fingerprint. Ed25519 signatures are deterministic, which is what makes
 * the self-signed certificate byte-for-byte reproducible.
 *
 * These keys are for simulators on loopback only; they are public knowledge by
 * construction (anyone can derive them from the seed).
 */
import { createHash, createPrivateKey, createPublicKey, KeyObject } from 'node:crypto';
import { certFingerprint, sshFingerprintOfBlob } from '../kit/pinning.js';
import { ecdsaLabCertificate } from './tls-certificate.js';

// Pinning is production code; re-exported here so that existing imports keep working.
export { certFingerprint, normaliseCertFingerprint, sshFingerprintOfBlob } from '../kit/pinning.js';

export interface Ed25519Identity {
  seed: Buffer; // 32 bytes
  publicRaw: Buffer; // 32 bytes
  privateKey: KeyObject;
}

export function ed25519FromSeed(seedText: string): Ed25519Identity {
  const seed = createHash('sha256').update('einklang-lab:' + seedText).digest();
  const privateKey = createPrivateKey({
    key: { kty: 'OKP', crv: 'Ed25519', d: seed.toString('base64url'), x: '' } as never,
    format: 'jwk',
  });
  const jwk = createPublicKey(privateKey).export({ format: 'jwk' }) as { x: string };
  return { seed, publicRaw: Buffer.from(jwk.x, 'base64url'), privateKey };
}

/** Private key from a seed given as raw 32 bytes (used by keygen helpers). */
export function ed25519FromRawSeed(seed: Buffer): Ed25519Identity {
  const privateKey = createPrivateKey({
    key: { kty: 'OKP', crv: 'Ed25519', d: seed.toString('base64url'), x: '' } as never,
    format: 'jwk',
  });
  const jwk = createPublicKey(privateKey).export({ format: 'jwk' }) as { x: string };
  return { seed, publicRaw: Buffer.from(jwk.x, 'base64url'), privateKey };
}

function sshString(b: Buffer | string): Buffer {
  const body = typeof b === 'string' ? Buffer.from(b) : b;
  const len = Buffer.alloc(4);
  len.writeUInt32BE(body.length);
  return Buffer.concat([len, body]);
}

/** The SSH wire encoding of an Ed25519 public key ("ssh-ed25519" blob). */
export function sshPublicBlob(publicRaw: Buffer): Buffer {
  return Buffer.concat([sshString('ssh-ed25519'), sshString(publicRaw)]);
}

/** `ssh-ed25519 AAAA... comment`, as in authorized_keys. */
export function openSshPublicKey(id: Ed25519Identity, comment = 'einklang-lab'): string {
  return `ssh-ed25519 ${sshPublicBlob(id.publicRaw).toString('base64')} ${comment}`;
}

const OPENSSH_KEY_LABEL = 'OPENSSH PRIVATE KEY';

/** The unencrypted OpenSSH private key format (what ssh-keygen writes for ed25519). */
export function openSshPrivateKey(id: Ed25519Identity, comment = 'einklang-lab'): string {
  const pubBlob = sshPublicBlob(id.publicRaw);
  // checkint is random in ssh-keygen; any equal pair is valid. Derive it for determinism.
  const check = createHash('sha256').update(id.seed).digest().subarray(0, 4);
  let priv = Buffer.concat([
    check,
    check,
    sshString('ssh-ed25519'),
    sshString(id.publicRaw),
    sshString(Buffer.concat([id.seed, id.publicRaw])),
    sshString(comment),
  ]);
  const pad: number[] = [];
  for (let i = 1; (priv.length + pad.length) % 8 !== 0; i++) pad.push(i);
  priv = Buffer.concat([priv, Buffer.from(pad)]);
  const nkeys = Buffer.alloc(4);
  nkeys.writeUInt32BE(1);
  const body = Buffer.concat([
    Buffer.from('openssh-key-v1\0'),
    sshString('none'),
    sshString('none'),
    sshString(Buffer.alloc(0)),
    nkeys,
    sshString(pubBlob),
    sshString(priv),
  ]);
  const b64 = body.toString('base64').replace(/.{1,70}/g, '$&\n');
  return `-----BEGIN ${OPENSSH_KEY_LABEL}-----\n${b64}-----END ${OPENSSH_KEY_LABEL}-----\n`;
}

export function sshFingerprint(id: Ed25519Identity): string {
  return sshFingerprintOfBlob(sshPublicBlob(id.publicRaw));
}

export interface LabCertificate {
  certPem: string;
  keyPem: string;
  /** SHA-256 of the DER certificate, upper-case hex pairs joined by ':' (as `openssl x509 -fingerprint -sha256` prints). */
  fingerprint256: string;
}

/** A self-signed ECDSA P-256 certificate for `commonName` (see ./tls-certificate.ts), valid 2020..2099, with SAN IP 127.0.0.1 and DNS localhost. */
export function labCertificate(seedText: string, commonName: string): LabCertificate {
  const cert = ecdsaLabCertificate(seedText, commonName);
  return { certPem: cert.certPem, keyPem: cert.keyPem, fingerprint256: certFingerprint(cert.der) };
}
