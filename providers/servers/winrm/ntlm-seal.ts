/**
 * NTLM session security (MS-NLMP 3.4): signing and sealing of the messages
 * sent after authentication, as WinRM uses it to encrypt SOAP bodies over
 * HTTP (MS-WSMV 2.2.9.1.1: "For NTLM, the encryption details are as described
 * in [MS-NLMP]"; the encryption header is the NTLM message signature).
 *
 * Only the variant every current Windows negotiates is implemented: NTLMv2
 * with NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY, _SIGN, _SEAL, _KEY_EXCH
 * and _128 (the client offers these; a server answering without them is
 * refused, so nothing silently falls back to the NTLMv1 signature format).
 *
 * - Keys (3.4.5.2 SIGNKEY, 3.4.5.3 SEALKEY): MD5(ExportedSessionKey || magic
 *   constant), one key pair per direction ("session key to client-to-server
 *   signing key magic constant\0", ...).
 * - Seal (3.4.3, GSS_WrapEx 3.4.6): sealed = RC4(SealingKey stream, message);
 *   then the signature (2.2.2.9.2): Version 1 (4 bytes), Checksum = the first
 *   8 bytes of HMAC_MD5(SigningKey, SeqNum || message), RC4-encrypted with the
 *   same running stream because KEY_EXCH was negotiated, SeqNum (4 bytes, LE).
 *   Sealing first, signature second: the order matters because both consume
 *   the one RC4 stream of that direction.
 * - Unseal (GSS_UnwrapEx 3.4.7): the same in reverse; a wrong checksum or an
 *   out-of-order sequence number is an error (the message was altered,
 *   replayed or dropped).
 *
 * Cross-checked against python3-ntlm-auth 1.4.0 (ntlm_auth/session_security.py,
 * compute_keys.py), the library pywinrm seals with; the tests run pywinrm
 * against the simulator, which seals with this module.
 */
import { createHash, createHmac } from 'node:crypto';
import { NTLM_FLAGS } from './ntlm.js';
import { Rc4 } from './rc4.js';

const MAGIC = {
  clientSigning: Buffer.from('session key to client-to-server signing key magic constant\0', 'latin1'),
  serverSigning: Buffer.from('session key to server-to-client signing key magic constant\0', 'latin1'),
  clientSealing: Buffer.from('session key to client-to-server sealing key magic constant\0', 'latin1'),
  serverSealing: Buffer.from('session key to server-to-client sealing key magic constant\0', 'latin1'),
};

const md5 = (...parts: Buffer[]) => createHash('md5').update(Buffer.concat(parts)).digest();

/** The flags session security needs; authentication is refused without them (see the header). */
export const SEALING_FLAGS = NTLM_FLAGS.SIGN | NTLM_FLAGS.SEAL | NTLM_FLAGS.EXTENDED_SESSIONSECURITY | NTLM_FLAGS.KEY_EXCH | NTLM_FLAGS.N128;

/** Missing sealing flags, by name ('' when all are there). */
export function missingSealingFlags(flags: number): string {
  const names: [number, string][] = [
    [NTLM_FLAGS.SIGN, 'SIGN'],
    [NTLM_FLAGS.SEAL, 'SEAL'],
    [NTLM_FLAGS.EXTENDED_SESSIONSECURITY, 'EXTENDED_SESSIONSECURITY'],
    [NTLM_FLAGS.KEY_EXCH, 'KEY_EXCH'],
    [NTLM_FLAGS.N128, '128'],
  ];
  return names
    .filter(([f]) => !(flags & f))
    .map(([, n]) => n)
    .join(', ');
}

export class NtlmSealError extends Error {}

interface Direction {
  signingKey: Buffer;
  rc4: Rc4;
  seq: number;
}

/** One direction pair of an authenticated NTLM connection. */
export class NtlmSealing {
  private readonly out: Direction;
  private readonly in: Direction;

  constructor(flags: number, exportedSessionKey: Buffer, side: 'client' | 'server') {
    const missing = missingSealingFlags(flags);
    if (missing) throw new NtlmSealError(`NTLM session security needs the negotiate flags ${missing}`);
    if (exportedSessionKey.length !== 16) throw new NtlmSealError('NTLM session key must be 16 bytes');
    const client: Direction = { signingKey: md5(exportedSessionKey, MAGIC.clientSigning), rc4: new Rc4(md5(exportedSessionKey, MAGIC.clientSealing)), seq: 0 };
    const server: Direction = { signingKey: md5(exportedSessionKey, MAGIC.serverSigning), rc4: new Rc4(md5(exportedSessionKey, MAGIC.serverSealing)), seq: 0 };
    [this.out, this.in] = side === 'client' ? [client, server] : [server, client];
  }

  private checksum(d: Direction, seq: Buffer, message: Buffer): Buffer {
    return d.rc4.update(createHmac('md5', d.signingKey).update(seq).update(message).digest().subarray(0, 8));
  }

  /** Seals the next outgoing message: its 16-byte signature and the sealed bytes (same length as the message). */
  wrap(message: Buffer): { signature: Buffer; sealed: Buffer } {
    const sealed = this.out.rc4.update(message);
    const seq = Buffer.alloc(4);
    seq.writeUInt32LE(this.out.seq++ >>> 0);
    const signature = Buffer.concat([Buffer.from([1, 0, 0, 0]), this.checksum(this.out, seq, message), seq]);
    return { signature, sealed };
  }

  /** Unseals the next incoming message and checks its signature; throws NtlmSealError when it does not verify. */
  unwrap(sealed: Buffer, signature: Buffer): Buffer {
    if (signature.length !== 16 || signature.readUInt32LE(0) !== 1) throw new NtlmSealError('not an NTLM message signature (version 1, 16 bytes)');
    const message = this.in.rc4.update(sealed);
    const seq = Buffer.alloc(4);
    seq.writeUInt32LE(this.in.seq >>> 0);
    const want = this.checksum(this.in, seq, message);
    if (!want.equals(signature.subarray(4, 12))) throw new NtlmSealError('NTLM message signature does not verify: the message was altered or sealed with another key');
    if (signature.readUInt32LE(12) !== this.in.seq) {
      throw new NtlmSealError(`NTLM message out of sequence: expected ${this.in.seq}, got ${signature.readUInt32LE(12)}`);
    }
    this.in.seq++;
    return message;
  }
}
