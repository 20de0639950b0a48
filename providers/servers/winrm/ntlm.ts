/**
 * NTLMv2 (MS-NLMP) messages, for the client (negotiate, authenticate) and the
 * simulator (challenge, verify). Connection-oriented: WinRM authenticates the
 * TCP connection once; later requests on the same keep-alive connection need
 * no Authorization header.
 *
 * Beyond the bare NTLMv2 response this does what Windows clients do and what
 * a default Windows host relies on:
 * - Key exchange (2.2.1.3 EncryptedRandomSessionKey, 3.1.5.1.2): a random
 *   ExportedSessionKey, RC4-encrypted with the KeyExchangeKey (for NTLMv2 the
 *   SessionBaseKey = HMAC_MD5(NTOWFv2, NTProofStr), 3.3.2). It keys the
 *   session security of ./ntlm-seal.ts (message encryption over HTTP).
 * - MIC (2.2.1.3, 3.1.5.1.2): when the challenge carries MsvAvTimestamp the
 *   client sets MsvAvFlags 0x2 and puts HMAC_MD5(ExportedSessionKey,
 *   NEGOTIATE || CHALLENGE || AUTHENTICATE-with-zero-MIC) at offset 72; the
 *   LmChallengeResponse is then Z(24).
 * - Channel binding (2.2.2.1 MsvAvChannelBindings, 3.1.5.1.2): over HTTPS the
 *   MD5 of the gss_channel_bindings_struct of ./channel-binding.ts, which a
 *   host with CbtHardeningLevel=Strict requires.
 * Checked against python3-ntlm-auth 1.4.0 (messages.py, compute_response.py:
 * same layout, MIC and channel binding AV pairs), whose requests-ntlm/pywinrm
 * stack the tests run against the simulator that verifies with this module.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { md4 } from './md4.js';
import { Rc4 } from './rc4.js';

const SIGNATURE = Buffer.from('NTLMSSP\0', 'latin1');

export const NTLM_FLAGS = {
  UNICODE: 0x00000001,
  REQUEST_TARGET: 0x00000004,
  SIGN: 0x00000010,
  SEAL: 0x00000020,
  NTLM: 0x00000200,
  ALWAYS_SIGN: 0x00008000,
  TARGET_TYPE_SERVER: 0x00020000,
  EXTENDED_SESSIONSECURITY: 0x00080000,
  TARGET_INFO: 0x00800000,
  VERSION: 0x02000000,
  N128: 0x20000000,
  KEY_EXCH: 0x40000000,
  N56: 0x80000000,
} as const;

/** AV_PAIR ids (2.2.2.1). */
const AV = { EOL: 0, NB_COMPUTER: 1, NB_DOMAIN: 2, DNS_COMPUTER: 3, FLAGS: 6, TIMESTAMP: 7, CHANNEL_BINDINGS: 10 } as const;
const AV_FLAG_MIC = 0x2;

const CLIENT_FLAGS =
  NTLM_FLAGS.UNICODE |
  NTLM_FLAGS.REQUEST_TARGET |
  NTLM_FLAGS.SIGN |
  NTLM_FLAGS.SEAL |
  NTLM_FLAGS.NTLM |
  NTLM_FLAGS.ALWAYS_SIGN |
  NTLM_FLAGS.EXTENDED_SESSIONSECURITY |
  NTLM_FLAGS.TARGET_INFO |
  NTLM_FLAGS.VERSION |
  NTLM_FLAGS.N128 |
  NTLM_FLAGS.KEY_EXCH |
  NTLM_FLAGS.N56;

/** What the simulator's CHALLENGE always says: Unicode, NTLM, target info and version, the target is a server (a workgroup Windows host). */
const SERVER_BASE_FLAGS = NTLM_FLAGS.UNICODE | NTLM_FLAGS.REQUEST_TARGET | NTLM_FLAGS.NTLM | NTLM_FLAGS.TARGET_INFO | NTLM_FLAGS.VERSION | NTLM_FLAGS.TARGET_TYPE_SERVER;
/** ... and what it grants only when the NEGOTIATE asked for it (3.2.5.1.1: the server answers with the options both support). */
const SERVER_OPTIONAL_FLAGS =
  NTLM_FLAGS.SIGN | NTLM_FLAGS.SEAL | NTLM_FLAGS.ALWAYS_SIGN | NTLM_FLAGS.EXTENDED_SESSIONSECURITY | NTLM_FLAGS.N128 | NTLM_FLAGS.KEY_EXCH | NTLM_FLAGS.N56;

/** VERSION structure (2.2.2.10): 6.1 build 7601, NTLM revision 15 (what both Windows and ntlm-auth send). */
const VERSION = Buffer.from([6, 1, 0xb1, 0x1d, 0, 0, 0, 0x0f]);

const hmacMd5 = (key: Buffer, ...data: Buffer[]) => createHmac('md5', key).update(Buffer.concat(data)).digest();

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

/** AV_PAIR list (2.2.2.1) -> [id, value] in order, without the terminating MsvAvEOL. */
export function parseAvPairs(info: Buffer): [number, Buffer][] {
  const out: [number, Buffer][] = [];
  for (let i = 0; i + 4 <= info.length; ) {
    const id = info.readUInt16LE(i);
    const len = info.readUInt16LE(i + 2);
    if (id === AV.EOL) return out;
    if (i + 4 + len > info.length) throw new Error('NTLM AV_PAIR out of range');
    out.push([id, info.subarray(i + 4, i + 4 + len)]);
    i += 4 + len;
  }
  throw new Error('NTLM AV_PAIR list without MsvAvEOL');
}

function avPairs(pairs: [number, Buffer][]): Buffer {
  const parts = [...pairs, [AV.EOL, Buffer.alloc(0)] as [number, Buffer]].map(([id, v]) => {
    const h = Buffer.alloc(4);
    h.writeUInt16LE(id, 0);
    h.writeUInt16LE(v.length, 2);
    return Buffer.concat([h, v]);
  });
  return Buffer.concat(parts);
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
  return hmacMd5(ntHash(password), Buffer.from(user.toUpperCase() + domain, 'utf16le'));
}

function fileTimeNow(): Buffer {
  const t = BigInt(Date.now()) * 10000n + 116444736000000000n;
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(t);
  return b;
}

// ------------------------------------------------------------------ client

export function negotiateMessage(): Buffer {
  const m = Buffer.alloc(40);
  SIGNATURE.copy(m, 0);
  m.writeUInt32LE(1, 8);
  m.writeUInt32LE(CLIENT_FLAGS >>> 0, 12);
  secBuf(m.subarray(16), 0, 40);
  secBuf(m.subarray(24), 0, 40);
  VERSION.copy(m, 32);
  return m;
}

export interface ChallengeMessage {
  flags: number;
  serverChallenge: Buffer;
  targetName: string;
  targetInfo: Buffer;
  /** The message as received (the MIC covers it). */
  raw: Buffer;
}

export function parseChallenge(msg: Buffer): ChallengeMessage {
  checkHeader(msg, 2);
  if (msg.length < 48) throw new Error('NTLM challenge truncated');
  const flags = msg.readUInt32LE(20);
  const targetName = readSecBuf(msg, 12).toString(flags & NTLM_FLAGS.UNICODE ? 'utf16le' : 'latin1');
  const targetInfo = Buffer.from(readSecBuf(msg, 40));
  parseAvPairs(targetInfo); // well-formed, or refuse here
  return { flags, serverChallenge: Buffer.from(msg.subarray(24, 32)), targetName, targetInfo, raw: Buffer.from(msg) };
}

export interface AuthenticateOptions {
  /** The NEGOTIATE message this client sent (for the MIC). */
  negotiate: Buffer;
  /** MD5 of the gss_channel_bindings_struct (./channel-binding.ts); omitted over HTTP. */
  channelBindings?: Buffer;
  workstation?: string;
  /** Fixed randomness, for tests. */
  clientChallenge?: Buffer;
  exportedSessionKey?: Buffer;
}

export interface NtlmClientResult {
  message: Buffer;
  /** Flags both sides agreed on (the AUTHENTICATE's NegotiateFlags). */
  flags: number;
  /** Key of the session security (./ntlm-seal.ts). */
  exportedSessionKey: Buffer;
}

export function authenticateMessage(challenge: ChallengeMessage, userName: string, password: string, o: AuthenticateOptions): NtlmClientResult {
  const { domain, user } = splitUser(userName);
  const key = ntowfv2(password, user, domain);
  const clientChallenge = o.clientChallenge ?? randomBytes(8);
  const serverPairs = parseAvPairs(challenge.targetInfo);
  const timestamp = serverPairs.find(([id]) => id === AV.TIMESTAMP)?.[1];
  const withMic = timestamp !== undefined && timestamp.length === 8;
  const pairs = serverPairs.filter(([id]) => id !== AV.FLAGS && id !== AV.CHANNEL_BINDINGS);
  if (withMic) {
    const f = Buffer.alloc(4);
    f.writeUInt32LE(AV_FLAG_MIC);
    pairs.push([AV.FLAGS, f]);
  }
  if (o.channelBindings) pairs.push([AV.CHANNEL_BINDINGS, o.channelBindings]);
  const temp = Buffer.concat([Buffer.from([1, 1, 0, 0, 0, 0, 0, 0]), withMic ? timestamp : fileTimeNow(), clientChallenge, Buffer.alloc(4), avPairs(pairs), Buffer.alloc(4)]);
  const ntProof = hmacMd5(key, challenge.serverChallenge, temp);
  const nt = Buffer.concat([ntProof, temp]);
  // 3.1.5.1.2: with MsvAvTimestamp the client sends Z(24) instead of the LMv2 response
  const lm = withMic ? Buffer.alloc(24) : Buffer.concat([hmacMd5(key, challenge.serverChallenge, clientChallenge), clientChallenge]);
  const flags = (challenge.flags & CLIENT_FLAGS) >>> 0;
  const keyExchangeKey = hmacMd5(key, ntProof); // SessionBaseKey; KXKEY for NTLMv2
  let exportedSessionKey: Buffer = keyExchangeKey;
  let encryptedRandomSessionKey: Buffer = Buffer.alloc(0);
  if (flags & NTLM_FLAGS.KEY_EXCH) {
    exportedSessionKey = o.exportedSessionKey ?? randomBytes(16);
    encryptedRandomSessionKey = new Rc4(keyExchangeKey).update(exportedSessionKey);
  }
  const fields = [lm, nt, Buffer.from(domain, 'utf16le'), Buffer.from(user, 'utf16le'), Buffer.from(o.workstation ?? '', 'utf16le'), encryptedRandomSessionKey];
  // header: 64 bytes of fields and flags, VERSION (8), MIC (16)
  const header = Buffer.alloc(88);
  SIGNATURE.copy(header, 0);
  header.writeUInt32LE(3, 8);
  // payload order: domain, user, workstation, lm, nt, session key (as Windows and ntlm-auth lay it out)
  const order = [2, 3, 4, 0, 1, 5];
  const offsets: number[] = [];
  let off = 88;
  for (const i of order) {
    offsets[i] = off;
    off += fields[i].length;
  }
  fields.forEach((f, i) => secBuf(header.subarray(12 + i * 8), f.length, offsets[i]));
  header.writeUInt32LE(flags, 60);
  VERSION.copy(header, 64);
  const message = Buffer.concat([header, ...order.map((i) => fields[i])]);
  if (withMic) hmacMd5(exportedSessionKey, o.negotiate, challenge.raw, message).copy(message, 72);
  return { message, flags, exportedSessionKey };
}

// ------------------------------------------------------------------ server

/** A CHALLENGE for a NEGOTIATE that asked for `clientFlags`. */
export function challengeMessage(serverChallenge: Buffer, targetName: string, clientFlags: number): Buffer {
  const name = Buffer.from(targetName, 'utf16le');
  const targetInfo = avPairs([
    [AV.NB_DOMAIN, name],
    [AV.NB_COMPUTER, name],
    [AV.DNS_COMPUTER, Buffer.from(targetName.toLowerCase(), 'utf16le')],
    [AV.TIMESTAMP, fileTimeNow()],
  ]);
  const header = Buffer.alloc(56);
  SIGNATURE.copy(header, 0);
  header.writeUInt32LE(2, 8);
  secBuf(header.subarray(12), name.length, 56);
  header.writeUInt32LE((SERVER_BASE_FLAGS | (clientFlags & SERVER_OPTIONAL_FLAGS)) >>> 0, 20);
  serverChallenge.copy(header, 24);
  secBuf(header.subarray(40), targetInfo.length, 56 + name.length);
  VERSION.copy(header, 48);
  return Buffer.concat([header, name, targetInfo]);
}

export interface AuthenticateMessage {
  domain: string;
  user: string;
  workstation: string;
  ntResponse: Buffer;
  encryptedRandomSessionKey: Buffer;
  flags: number;
  /** The client's AV pairs from the NTLMv2 response (channel bindings, MIC flag). */
  avPairs: [number, Buffer][];
  raw: Buffer;
}

export function parseAuthenticate(msg: Buffer): AuthenticateMessage {
  checkHeader(msg, 3);
  if (msg.length < 64) throw new Error('NTLM authenticate truncated');
  const ntResponse = Buffer.from(readSecBuf(msg, 20));
  // NTLMv2_RESPONSE: NTProofStr (16), then NTLMv2_CLIENT_CHALLENGE whose AV pairs start at byte 28 of it
  const avPairList = ntResponse.length >= 48 ? parseAvPairs(ntResponse.subarray(44)) : [];
  return {
    ntResponse,
    domain: readSecBuf(msg, 28).toString('utf16le'),
    user: readSecBuf(msg, 36).toString('utf16le'),
    workstation: readSecBuf(msg, 44).toString('utf16le'),
    encryptedRandomSessionKey: Buffer.from(readSecBuf(msg, 52)),
    flags: msg.readUInt32LE(60),
    avPairs: avPairList,
    raw: Buffer.from(msg),
  };
}

/** The client's MsvAvChannelBindings, or null when it sent none (absent or Z(16), 3.1.5.1.2). */
export function clientChannelBindings(auth: AuthenticateMessage): Buffer | null {
  const v = auth.avPairs.find(([id]) => id === AV.CHANNEL_BINDINGS)?.[1];
  return v && v.length === 16 && !v.equals(Buffer.alloc(16)) ? v : null;
}

export type VerifyResult = { ok: true; exportedSessionKey: Buffer; flags: number } | { ok: false; reason: 'credentials' | 'mic' };

/**
 * Checks an AUTHENTICATE against the password the server knows: the NTLMv2
 * proof, then (with key exchange) recovers the ExportedSessionKey, then the
 * MIC when the client flagged one. Channel bindings are the caller's policy
 * (clientChannelBindings).
 */
export function verifyAuthenticate(auth: AuthenticateMessage, serverChallenge: Buffer, password: string, exchange?: { negotiate: Buffer; challenge: Buffer }): VerifyResult {
  if (auth.ntResponse.length < 48) return { ok: false, reason: 'credentials' }; // NTLMv1 is not accepted
  const key = ntowfv2(password, auth.user, auth.domain);
  const proof = auth.ntResponse.subarray(0, 16);
  const temp = auth.ntResponse.subarray(16);
  if (!hmacMd5(key, serverChallenge, temp).equals(proof)) return { ok: false, reason: 'credentials' };
  const keyExchangeKey = hmacMd5(key, proof);
  const exportedSessionKey =
    auth.flags & NTLM_FLAGS.KEY_EXCH && auth.encryptedRandomSessionKey.length === 16 ? new Rc4(keyExchangeKey).update(auth.encryptedRandomSessionKey) : keyExchangeKey;
  const avFlags = auth.avPairs.find(([id]) => id === AV.FLAGS)?.[1];
  if (avFlags && avFlags.length === 4 && avFlags.readUInt32LE(0) & AV_FLAG_MIC) {
    if (!exchange || auth.raw.length < 88) return { ok: false, reason: 'mic' };
    const zeroed = Buffer.from(auth.raw);
    zeroed.fill(0, 72, 88);
    if (!hmacMd5(exportedSessionKey, exchange.negotiate, exchange.challenge, zeroed).equals(auth.raw.subarray(72, 88))) return { ok: false, reason: 'mic' };
  }
  return { ok: true, exportedSessionKey, flags: auth.flags };
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
