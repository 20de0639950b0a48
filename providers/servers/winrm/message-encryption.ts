/**
 * The MIME framing of encrypted WinRM messages (MS-WSMV 2.2.9.1.1, Negotiate
 * encrypted message), both directions:
 *
 *   Content-Type: multipart/encrypted;protocol="application/HTTP-SPNEGO-session-encrypted";boundary="Encrypted Boundary"
 *
 *   --Encrypted Boundary\r\n
 *   \tContent-Type: application/HTTP-SPNEGO-session-encrypted\r\n
 *   \tOriginalContent: type=application/soap+xml;charset=UTF-8;Length=<plain length>\r\n
 *   --Encrypted Boundary\r\n
 *   \tContent-Type: application/octet-stream\r\n
 *   <uint32 LE signature length><NTLM signature, 16 bytes><sealed message>
 *   --Encrypted Boundary--\r\n
 *
 * 2.2.9.1.1.2.2: the Length-Field is the length of the encryption header,
 * which "for NTLM MUST be its Message Signature". NTLM seals with RC4, so the
 * sealed message is exactly as long as the plain one; the parser relies on
 * that (OriginalContent Length) instead of searching the binary data for the
 * boundary.
 *
 * Chunking: `multipart/x-multi-encrypted`, one such pair of parts per chunk of
 * at most 16 KiB, is what MS-WSMV 2.2.9.1.3 specifies for CredSSP (a TLS
 * record's limit); pywinrm 0.3.0 (winrm/encryption.py) and pypsrp
 * (encryption.py) chunk only for CredSSP and send NTLM messages of any size as
 * one part. einklang does the same when sending; the parser accepts both
 * forms, as pywinrm's does.
 */

export const SPNEGO_PROTOCOL = 'application/HTTP-SPNEGO-session-encrypted';
const BOUNDARY = 'Encrypted Boundary';
const DASH_BOUNDARY = Buffer.from(`--${BOUNDARY}\r\n`, 'latin1');
const CLOSE_BOUNDARY = Buffer.from(`--${BOUNDARY}--\r\n`, 'latin1');
const OCTET_STREAM = Buffer.from('\tContent-Type: application/octet-stream\r\n', 'latin1');
/** The chunk size of the multi-part form (MS-WSMV 2.2.9.1.3). */
export const MULTI_ENCRYPTED_CHUNK = 16 * 1024;

export type Seal = (plain: Buffer) => { signature: Buffer; sealed: Buffer };
export type Unseal = (sealed: Buffer, signature: Buffer) => Buffer;

export class FramingError extends Error {}

export function encryptedContentType(multi = false): string {
  return `${multi ? 'multipart/x-multi-encrypted' : 'multipart/encrypted'};protocol="${SPNEGO_PROTOCOL}";boundary="${BOUNDARY}"`;
}

/** True when a Content-Type header announces a Negotiate-encrypted body. */
export function isEncryptedContentType(contentType: string | undefined): boolean {
  if (!contentType) return false;
  const m = /^\s*multipart\/(?:x-multi-)?encrypted\s*;(.*)$/i.exec(contentType);
  return !!m && /protocol\s*=\s*"?application\/HTTP-SPNEGO-session-encrypted"?/i.test(m[1]);
}

/** Frames `plain` as one encrypted part, or as 16 KiB parts when `chunk` is given (multipart/x-multi-encrypted). */
export function encryptMessage(plain: Buffer, seal: Seal, chunk?: number): { contentType: string; body: Buffer } {
  const pieces: Buffer[] = [];
  const size = chunk && plain.length > chunk ? chunk : Math.max(plain.length, 1);
  for (let off = 0; off < plain.length || off === 0; off += size) {
    const part = plain.subarray(off, off + size);
    const { signature, sealed } = seal(part);
    const sigLen = Buffer.alloc(4);
    sigLen.writeUInt32LE(signature.length);
    pieces.push(
      DASH_BOUNDARY,
      Buffer.from(`\tContent-Type: ${SPNEGO_PROTOCOL}\r\n\tOriginalContent: type=application/soap+xml;charset=UTF-8;Length=${part.length}\r\n`, 'latin1'),
      DASH_BOUNDARY,
      OCTET_STREAM,
      sigLen,
      signature,
      sealed,
    );
    if (off + size >= plain.length) break;
  }
  pieces.push(CLOSE_BOUNDARY);
  return { contentType: encryptedContentType(size < plain.length), body: Buffer.concat(pieces) };
}

function expect(body: Buffer, at: number, what: Buffer, name: string): number {
  if (!body.subarray(at, at + what.length).equals(what)) throw new FramingError(`encrypted message: expected ${name} at byte ${at}`);
  return at + what.length;
}

/** Unframes and unseals every part; the parts' plain texts joined. Throws FramingError on a malformed body. */
export function decryptMessage(body: Buffer, unseal: Unseal): Buffer {
  const plain: Buffer[] = [];
  let at = 0;
  for (;;) {
    at = expect(body, at, DASH_BOUNDARY, 'the boundary');
    const headerEnd = body.indexOf(DASH_BOUNDARY, at);
    if (headerEnd < 0) throw new FramingError('encrypted message: part header without end');
    const header = body.subarray(at, headerEnd).toString('latin1');
    if (!header.includes(SPNEGO_PROTOCOL)) throw new FramingError(`encrypted message: part is not ${SPNEGO_PROTOCOL}`);
    const length = /OriginalContent:[^\r\n]*Length=(\d+)/i.exec(header);
    if (!length) throw new FramingError('encrypted message: OriginalContent without Length');
    at = expect(body, headerEnd, DASH_BOUNDARY, 'the boundary');
    at = expect(body, at, OCTET_STREAM, 'the application/octet-stream header');
    if (at + 4 > body.length) throw new FramingError('encrypted message truncated');
    const sigLen = body.readUInt32LE(at);
    const n = Number(length[1]);
    const dataStart = at + 4 + sigLen;
    if (dataStart + n > body.length) throw new FramingError('encrypted message shorter than its OriginalContent Length');
    const dataEnd = dataStart + n;
    const last = body.subarray(dataEnd, dataEnd + CLOSE_BOUNDARY.length).equals(CLOSE_BOUNDARY);
    if (last && dataEnd + CLOSE_BOUNDARY.length !== body.length) throw new FramingError('encrypted message: data after the closing boundary');
    if (!last && !body.subarray(dataEnd, dataEnd + DASH_BOUNDARY.length).equals(DASH_BOUNDARY)) {
      throw new FramingError('encrypted message: the sealed data is not followed by a boundary (wrong OriginalContent Length?)');
    }
    // the structure is sound: now the cryptography
    plain.push(unseal(body.subarray(dataStart, dataEnd), body.subarray(at + 4, dataStart)));
    if (last) return Buffer.concat(plain);
    at = dataEnd;
  }
}
