/**
 * NTLMv2 (MS-NLMP) messages, for the client (negotiate, authenticate) and the
 * simulator (challenge, verify). Connection-oriented: WinRM authenticates the
 * TCP connection once; later requests on the same keep-alive connection need
 * no Authorization header.
 *
 * Session security (signing/sealing of the SOAP bodies) is not implemented:
 * NTLM is used over HTTPS, or over HTTP only with allowUnencrypted.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { md4 } from './md4.js';

const SIGNATURE = Buffer.from('NTLMSSP\0', 'latin1');

export const NTLM_FLAGS = {
  UNICODE: 0x00000001,
  REQUEST_TARGET: 0x00000004,
  NTLM: 0x00000200,
  ALWAYS_SIGN: 0x00008000,
  TARGET_TYPE_SERVER: 0x00020000,
  EXTENDED_SESSIONSECURITY: 0x00080000,
  TARGET_INFO: 0x00800000,
  N128: 0x20000000,
  N56: 0x80000000,
} as const;

const CLIENT_FLAGS =
  NTLM_FLAGS.UNICODE |
  NTLM_FLAGS.REQUEST_TARGET |
  NTLM_FLAGS.NTLM |
  NTLM_FLAGS.ALWAYS_SIGN |
  NTLM_FLAGS.EXTENDED_SESSIONSECURITY |
  NTLM_FLAGS.TARGET_INFO |
  NTLM_FLAGS.N128 |
  NTLM_FLAGS.N56;

function secBuf(buf: Buffer, len: number, offset: number): void {
  buf.writeUInt16LE(len, 0);
  buf.writeUInt16LE(len, 2);
  buf.writeUInt32LE(offset, 4);
}

function readSecBuf(msg: Buffer, at: number): Buffer {
  if (at + 8 > msg.length) throw new Error('NTLM message truncated');
  const len = msg.readUInt16LE(at);
  const off = msg.readUInt32LE(at + 4);
  if (off + len > msg.length) throw new Error('NTLM message field out of range');
  return msg.subarray(off, off + len);
}

function checkHeader(msg: Buffer, type: number): void {
  if (msg.length < 12 || !msg.subarray(0, 8).equals(SIGNATURE) || msg.readUInt32LE(8) !== type) {
    throw new Error(`not an NTLM type ${type} message`);
  }
}

/** `DOMAIN\user` -> {domain, user}; `user@domain` stays whole (UPN), domain ''. */
export function splitUser(user: string): { domain: string; user: string } {
  const i = user.indexOf('\\');
  if (i >= 0) return { domain: user.slice(0, i), user: user.slice(i + 1) };
  return { domain: '', user };
}

export function ntHash(password: string): Buffer {
  return md4(Buffer.from(password, 'utf16le'));
}

export function ntowfv2(password: string, user: string, domain: string): Buffer {
  return createHmac('md5', ntHash(password))
    .update(Buffer.from(user.toUpperCase() + domain, 'utf16le'))
    .digest();
}

// ------------------------------------------------------------------ client

export function negotiateMessage(): Buffer {
  const m = Buffer.alloc(32);
  SIGNATURE.copy(m, 0);
  m.writeUInt32LE(1, 8);
  m.writeUInt32LE(CLIENT_FLAGS >>> 0, 12);
  secBuf(m.subarray(16), 0, 32);
  secBuf(m.subarray(24), 0, 32);
  return m;
}

export interface ChallengeMessage {
  flags: number;
  serverChallenge: Buffer;
  targetName: string;
  targetInfo: Buffer;
}

export function parseChallenge(msg: Buffer): ChallengeMessage {
  checkHeader(msg, 2);
  if (msg.length < 48) throw new Error('NTLM challenge truncated');
  const flags = msg.readUInt32LE(20);
  const targetName = readSecBuf(msg, 12).toString(flags & NTLM_FLAGS.UNICODE ? 'utf16le' : 'latin1');
  return { flags, serverChallenge: Buffer.from(msg.subarray(24, 32)), targetName, targetInfo: Buffer.from(readSecBuf(msg, 40)) };
}

function avTimestamp(targetInfo: Buffer): Buffer | null {
  for (let i = 0; i + 4 <= targetInfo.length; ) {
    const id = targetInfo.readUInt16LE(i);
    const len = targetInfo.readUInt16LE(i + 2);
    if (id === 0) break;
    if (id === 7 && len === 8) return targetInfo.subarray(i + 4, i + 12);
    i += 4 + len;
  }
  return null;
}

function fileTimeNow(): Buffer {
  const t = BigInt(Date.now()) * 10000n + 116444736000000000n;
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(t);
  return b;
}

export function authenticateMessage(
  challenge: ChallengeMessage,
  userName: string,
  password: string,
  workstation = '',
  clientChallenge: Buffer = randomBytes(8),
): Buffer {
  const { domain, user } = splitUser(userName);
  const key = ntowfv2(password, user, domain);
  const ts = avTimestamp(challenge.targetInfo) ?? fileTimeNow();
  const temp = Buffer.concat([
    Buffer.from([1, 1, 0, 0, 0, 0, 0, 0]),
    ts,
    clientChallenge,
    Buffer.alloc(4),
    challenge.targetInfo,
    Buffer.alloc(4),
  ]);
  const proof = createHmac('md5', key).update(Buffer.concat([challenge.serverChallenge, temp])).digest();
  const nt = Buffer.concat([proof, temp]);
  const lm = Buffer.concat([
    createHmac('md5', key).update(Buffer.concat([challenge.serverChallenge, clientChallenge])).digest(),
    clientChallenge,
  ]);
  const fields = [
    lm,
    nt,
    Buffer.from(domain, 'utf16le'),
    Buffer.from(user, 'utf16le'),
    Buffer.from(workstation, 'utf16le'),
    Buffer.alloc(0),
  ];
  const header = Buffer.alloc(64);
  SIGNATURE.copy(header, 0);
  header.writeUInt32LE(3, 8);
  let off = 64;
  fields.forEach((f, i) => {
    secBuf(header.subarray(12 + i * 8), f.length, off);
    off += f.length;
  });
  header.writeUInt32LE((challenge.flags & CLIENT_FLAGS) >>> 0, 60);
  return Buffer.concat([header, ...fields]);
}

// ------------------------------------------------------------------ server

export function challengeMessage(serverChallenge: Buffer, targetName: string): Buffer {
  const name = Buffer.from(targetName, 'utf16le');
  const av = (id: number, v: Buffer) => {
    const h = Buffer.alloc(4);
    h.writeUInt16LE(id, 0);
    h.writeUInt16LE(v.length, 2);
    return Buffer.concat([h, v]);
  };
  const targetInfo = Buffer.concat([av(2, name), av(1, name), av(7, fileTimeNow()), av(0, Buffer.alloc(0))]);
  const header = Buffer.alloc(56);
  SIGNATURE.copy(header, 0);
  header.writeUInt32LE(2, 8);
  secBuf(header.subarray(12), name.length, 56);
  header.writeUInt32LE((CLIENT_FLAGS | NTLM_FLAGS.TARGET_TYPE_SERVER) >>> 0, 20);
  serverChallenge.copy(header, 24);
  secBuf(header.subarray(40), targetInfo.length, 56 + name.length);
  header.set([6, 1, 0x7c, 0x1d, 0, 0, 0, 0x0f], 48); // version 6.1 build 7580, NTLM rev 15
  return Buffer.concat([header, name, targetInfo]);
}

export interface AuthenticateMessage {
  domain: string;
  user: string;
  workstation: string;
  ntResponse: Buffer;
}

export function parseAuthenticate(msg: Buffer): AuthenticateMessage {
  checkHeader(msg, 3);
  if (msg.length < 64) throw new Error('NTLM authenticate truncated');
  return {
    ntResponse: Buffer.from(readSecBuf(msg, 20)),
    domain: readSecBuf(msg, 28).toString('utf16le'),
    user: readSecBuf(msg, 36).toString('utf16le'),
    workstation: readSecBuf(msg, 44).toString('utf16le'),
  };
}

/** True when the NTLMv2 response proves knowledge of `password` for this challenge. */
export function verifyAuthenticate(auth: AuthenticateMessage, serverChallenge: Buffer, password: string): boolean {
  if (auth.ntResponse.length < 48) return false; // NTLMv1 is not accepted
  const key = ntowfv2(password, auth.user, auth.domain);
  const proof = auth.ntResponse.subarray(0, 16);
  const temp = auth.ntResponse.subarray(16);
  const want = createHmac('md5', key).update(Buffer.concat([serverChallenge, temp])).digest();
  return want.equals(proof);
}

/** `Negotiate <base64>` / `NTLM <base64>` -> bytes, or null. */
export function tokenFromHeader(h: string | string[] | undefined): Buffer | null {
  const list = Array.isArray(h) ? h : h ? [h] : [];
  for (const v of list) {
    for (const part of v.split(',')) {
      const m = /^\s*(?:Negotiate|NTLM)\s+([A-Za-z0-9+/=]+)\s*$/i.exec(part);
      if (m) return Buffer.from(m[1], 'base64');
    }
  }
  return null;
}
