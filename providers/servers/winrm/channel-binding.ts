/**
 * Channel binding for NTLM over HTTPS: RFC 5929 `tls-server-end-point`.
 *
 * - The binding data is "tls-server-end-point:" followed by the hash of the
 *   server's certificate (DER). RFC 5929 section 4.1: the hash function is the
 *   one of the certificate's signatureAlgorithm, except that MD5 and SHA-1 are
 *   replaced by SHA-256; if the algorithm uses no hash or several (Ed25519,
 *   and RSASSA-PSS is out of scope here), the binding is undefined.
 * - NTLM carries it as MsvAvChannelBindings (MS-NLMP 2.2.2.1): the MD5 of a
 *   gss_channel_bindings_struct (RFC 2744 section 3.11, as Windows lays it
 *   out: initiator and acceptor address types and lengths all zero, then the
 *   application data length and the binding data, all little-endian 32-bit).
 * - A Windows host checks it according to Service\Auth\CbtHardeningLevel
 *   (HTTP_AUTHENTICATION_HARDENING_LEVELS in http.h: Legacy/None never,
 *   Medium/Relaxed when the client sends one, Strict always; Relaxed is the
 *   default, see WinRb/rubyntlm issue 27: Strict hosts refuse NTLM over SSL
 *   from clients without a binding).
 * Same computation as requests-ntlm 1.1.0 (`_get_certificate_hash`) and
 * ntlm-auth 1.4.0 (`GssChannelBindingsStruct`, compute_response.py), which the
 * tests run against the simulator.
 */
import { createHash } from 'node:crypto';

/** Hash of tls-server-end-point per signature algorithm OID (dotted). */
const HASH_BY_SIGNATURE: Record<string, string> = {
  '1.2.840.113549.1.1.4': 'sha256', // md5WithRSAEncryption -> SHA-256 (RFC 5929 4.1)
  '1.2.840.113549.1.1.5': 'sha256', // sha1WithRSAEncryption -> SHA-256
  '1.2.840.113549.1.1.11': 'sha256',
  '1.2.840.113549.1.1.12': 'sha384',
  '1.2.840.113549.1.1.13': 'sha512',
  '1.2.840.113549.1.1.14': 'sha224',
  '1.2.840.10045.4.1': 'sha256', // ecdsa-with-SHA1 -> SHA-256
  '1.2.840.10045.4.3.1': 'sha224',
  '1.2.840.10045.4.3.2': 'sha256',
  '1.2.840.10045.4.3.3': 'sha384',
  '1.2.840.10045.4.3.4': 'sha512',
};

const NAME_BY_SIGNATURE: Record<string, string> = {
  '1.3.101.112': 'Ed25519',
  '1.3.101.113': 'Ed448',
  '1.2.840.113549.1.1.10': 'RSASSA-PSS',
};

/** One DER element: tag, and where its contents are. */
function tlv(buf: Buffer, at: number): { tag: number; start: number; end: number } {
  if (at + 2 > buf.length) throw new Error('certificate DER truncated');
  const tag = buf[at];
  let len = buf[at + 1];
  let start = at + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n < 1 || n > 4 || start + n > buf.length) throw new Error('certificate DER length not supported');
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + buf[start + i];
    start += n;
  }
  if (start + len > buf.length) throw new Error('certificate DER truncated');
  return { tag, start, end: start + len };
}

function oidText(b: Buffer): string {
  const arcs = [Math.floor(b[0] / 40), b[0] % 40];
  let v = 0;
  for (const byte of b.subarray(1)) {
    v = v * 128 + (byte & 0x7f);
    if (!(byte & 0x80)) {
      arcs.push(v);
      v = 0;
    }
  }
  return arcs.join('.');
}

/** The certificate's outer signatureAlgorithm OID: Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm, signatureValue }. */
export function signatureAlgorithmOid(certDer: Buffer): string {
  const cert = tlv(certDer, 0);
  if (cert.tag !== 0x30) throw new Error('not a DER certificate');
  const tbs = tlv(certDer, cert.start);
  const algorithm = tlv(certDer, tbs.end);
  const id = tlv(certDer, algorithm.start);
  if (algorithm.tag !== 0x30 || id.tag !== 0x06) throw new Error('certificate without signatureAlgorithm');
  return oidText(certDer.subarray(id.start, id.end));
}

export type EndPointBinding = { hash: string; applicationData: Buffer } | { undefinedFor: string };

/** RFC 5929 tls-server-end-point binding data of a certificate, or why it has none. */
export function tlsServerEndPoint(certDer: Buffer): EndPointBinding {
  const algorithm = signatureAlgorithmOid(certDer);
  const hash = HASH_BY_SIGNATURE[algorithm];
  if (!hash) return { undefinedFor: NAME_BY_SIGNATURE[algorithm] ?? `signature algorithm ${algorithm}` };
  return { hash, applicationData: Buffer.concat([Buffer.from('tls-server-end-point:', 'ascii'), createHash(hash).update(certDer).digest()]) };
}

/** MsvAvChannelBindings value: MD5 of the gss_channel_bindings_struct with only application data. */
export function channelBindingsHash(applicationData: Buffer): Buffer {
  const header = Buffer.alloc(20); // initiator addrtype, length; acceptor addrtype, length: all 0; then the data length
  header.writeUInt32LE(applicationData.length, 16);
  return createHash('md5').update(header).update(applicationData).digest();
}
