/**
 * Pinning: how einklang recognises the device it talks to before it sends a
 * single credential. Production code (every SSH and HTTPS driver uses it); the
 * lab's deterministic identities (providers/lab/identity.ts) only produce keys
 * and certificates whose fingerprints these functions compute.
 *
 * - TLS: `tlsFingerprint` is the SHA-256 of the server certificate's DER bytes,
 *   written as `AB:CD:..` (what `openssl x509 -fingerprint -sha256` prints),
 *   plain hex, or `sha256:<hex>`. All forms normalise to upper-case hex pairs
 *   joined by ':'.
 * - SSH: `hostKeyFingerprint` is `SHA256:<base64 without padding>` of the host
 *   key blob, as printed by `ssh-keygen -lf`.
 */
import { createHash } from 'node:crypto';
import type { PeerCertificate } from 'node:tls';

/** Normalised certificate fingerprint: SHA-256 over DER, upper-case hex joined by ':'. */
export function certFingerprint(derBytes: Buffer): string {
  return createHash('sha256')
    .update(derBytes)
    .digest('hex')
    .toUpperCase()
    .replace(/(..)(?!$)/g, '$1:');
}

/** Accepts `AB:CD:..`, `abcd..` or `sha256:abcd..` and returns the canonical form of certFingerprint. */
export function normaliseCertFingerprint(s: string): string {
  const hex = s.replace(/^sha256:/i, '').replace(/[:\s]/g, '').toUpperCase();
  return hex.replace(/(..)(?!$)/g, '$1:');
}

/**
 * The canonical form of a configured `tlsFingerprint`, or an explanation of why
 * it is not one: exactly 32 bytes of hex in any accepted notation. Drivers call
 * this at validate time and before connecting, so a typo is a clear error
 * instead of a pin that can never match.
 */
export function parseCertFingerprint(s: unknown): { ok: true; fingerprint: string } | { ok: false; reason: string } {
  if (typeof s !== 'string' || s.trim() === '') return { ok: false, reason: 'tlsFingerprint must be a non-empty string' };
  const hex = s.trim().replace(/^sha256:/i, '').replace(/[:\s]/g, '');
  if (!/^[0-9a-fA-F]{64}$/.test(hex)) {
    return { ok: false, reason: 'tlsFingerprint must be the SHA-256 of the certificate: 64 hex digits, as `AB:CD:...`, plain hex or `sha256:<hex>`' };
  }
  return { ok: true, fingerprint: normaliseCertFingerprint(hex) };
}

/** The fingerprint of the certificate a TLS peer presented, or undefined when it presented none. */
export function presentedCertFingerprint(cert: PeerCertificate | undefined | null): string | undefined {
  return cert && cert.raw && cert.raw.length ? certFingerprint(cert.raw) : undefined;
}

/** `SHA256:...` as printed by `ssh-keygen -lf` (base64 without padding). */
export function sshFingerprintOfBlob(blob: Buffer): string {
  return 'SHA256:' + createHash('sha256').update(blob).digest('base64').replace(/=+$/, '');
}

/** 127.0.0.0/8, ::1 and localhost: where lab simulators run. */
export function isLoopbackHost(host: string): boolean {
  const h = host.toLowerCase().replace(/^\[|\]$/g, '');
  return h === 'localhost' || h === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

/**
 * DESIGN.md's rule for API targets: `tlsFingerprint` is required for loopback
 * (lab) hosts, optional elsewhere (then the system's CAs decide), and must be
 * well-formed when given. Returns what is wrong, or undefined. Drivers call it
 * in validateConnection (a diagnostic at validate time) and before connecting.
 */
export function tlsPinProblem(host: string, tlsFingerprint: unknown): string | undefined {
  if (tlsFingerprint === undefined || tlsFingerprint === null) {
    return isLoopbackHost(host) ? 'connection.tlsFingerprint is required for a loopback (lab) host' : undefined;
  }
  const p = parseCertFingerprint(tlsFingerprint);
  return p.ok ? undefined : p.reason;
}
