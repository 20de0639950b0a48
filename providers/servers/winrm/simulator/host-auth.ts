/**
 * Authentication of the simulated WinRM service, configured like a Windows
 * host (`winrm get winrm/config/service`):
 *
 * - Auth\Negotiate (NTLM here) is always on; Auth\Basic is off unless the lab
 *   turns it on (Windows' default is false, see the Ansible WinRM guide and
 *   pywinrm issue 79). A 401 offers `Negotiate`, plus `Basic realm="WSMAN"`
 *   only when Basic is on.
 * - NTLM authenticates the connection (NEGOTIATE -> 401 with CHALLENGE ->
 *   AUTHENTICATE); the CHALLENGE grants the session security flags the client
 *   asked for, and the AUTHENTICATE must prove the password, carry a valid MIC
 *   when it flags one, and satisfy Auth\CbtHardeningLevel over HTTPS:
 *   None ignores channel bindings, Relaxed (the default) checks them when the
 *   client sends some, Strict requires them (http.h
 *   HTTP_AUTHENTICATION_HARDENING_LEVELS: Legacy, Medium, Strict).
 * - Basic authenticates each request.
 *
 * What counts is recorded in `stats`, so tests can see that a client really
 * sent a channel binding or sealed its messages.
 */
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { randomBytes } from 'node:crypto';
import { challengeMessage, clientChannelBindings, parseAuthenticate, splitUser, tokenFromHeader, verifyAuthenticate } from '../ntlm.js';
import { missingSealingFlags, NtlmSealing } from '../ntlm-seal.js';

export type CbtHardeningLevel = 'None' | 'Relaxed' | 'Strict';

/** The WinRM service settings the simulator honours (names as in WSMan:\localhost\Service). */
export interface WinrmServiceConfig {
  /** Service\Auth\Basic; Windows default false. */
  basic: boolean;
  /** Service\AllowUnencrypted; Windows default false. */
  allowUnencrypted: boolean;
  /** Service\Auth\CbtHardeningLevel; Windows default Relaxed. */
  cbtHardeningLevel: CbtHardeningLevel;
  /** Winrs\MaxShellsPerUser; 30 since Windows Server 2012 (5 on 2008 R2; hashicorp/vagrant issue 7489). */
  maxShellsPerUser: number;
  /** Service\MaxConcurrentOperationsPerUser; default 1500 (masterzen/winrm issue 129). */
  maxConcurrentOperationsPerUser: number;
}

export const DEFAULT_SERVICE_CONFIG: WinrmServiceConfig = {
  basic: false,
  allowUnencrypted: false,
  cbtHardeningLevel: 'Relaxed',
  maxShellsPerUser: 30,
  maxConcurrentOperationsPerUser: 1500,
};

export interface HostAuthStats {
  ntlmAuthenticated: number;
  basicAuthenticated: number;
  /** AUTHENTICATE messages refused, by cause. */
  refusedCredentials: number;
  refusedMic: number;
  refusedChannelBinding: number;
  /** Over HTTPS: authentications whose channel binding matched this listener's certificate, or that carried none. */
  channelBindingMatched: number;
  channelBindingAbsent: number;
}

interface Connection {
  negotiate?: Buffer;
  challenge?: Buffer;
  serverChallenge?: Buffer;
  authed?: boolean;
  sealing?: NtlmSealing;
}

export type AuthOutcome =
  /** Go on; `sealing` is the connection's NTLM session security (when negotiated). */
  | { ok: true; sealing?: NtlmSealing }
  /** Answer 401 with these WWW-Authenticate values (a challenge, or the offers). */
  | { ok: false; wwwAuthenticate: string[]; challenge: boolean };

export class HostAuthenticator {
  readonly stats: HostAuthStats = {
    ntlmAuthenticated: 0,
    basicAuthenticated: 0,
    refusedCredentials: 0,
    refusedMic: 0,
    refusedChannelBinding: 0,
    channelBindingMatched: 0,
    channelBindingAbsent: 0,
  };
  private readonly connections = new WeakMap<Socket, Connection>();

  constructor(
    private readonly o: {
      user: string;
      password: string;
      hostname: string;
      config: WinrmServiceConfig;
      /** MsvAvChannelBindings a client must send for this listener's certificate (https), or null (http). */
      channelBindings: Buffer | null;
    },
  ) {}

  /** The WWW-Authenticate values of a plain 401. */
  offers(): string[] {
    return ['Negotiate', ...(this.o.config.basic ? ['Basic realm="WSMAN"'] : [])];
  }

  private deny(): AuthOutcome {
    return { ok: false, wwwAuthenticate: this.offers(), challenge: false };
  }

  /** Forgets the connection's authentication (after a refused message the client must authenticate again). */
  reset(socket: Socket): void {
    this.connections.delete(socket);
  }

  authenticate(req: IncomingMessage): AuthOutcome {
    const sock = req.socket;
    const conn = this.connections.get(sock) ?? {};
    const h = req.headers.authorization;
    if (!h) return conn.authed ? { ok: true, sealing: conn.sealing } : this.deny();
    if (/^Basic /i.test(h)) {
      if (!this.o.config.basic) return this.deny();
      const [user, ...rest] = Buffer.from(h.slice(6), 'base64').toString('utf8').split(':');
      if (this.userMatches(user) && rest.join(':') === this.o.password) {
        this.stats.basicAuthenticated++;
        return { ok: true };
      }
      this.stats.refusedCredentials++;
      return this.deny();
    }
    const token = tokenFromHeader(h);
    if (!token || token.length < 12 || !token.subarray(0, 8).equals(Buffer.from('NTLMSSP\0', 'latin1'))) {
      this.connections.delete(sock);
      return this.deny(); // Kerberos / SPNEGO-wrapped tokens: not this host's business
    }
    const type = token.readUInt32LE(8);
    if (type === 1) {
      const serverChallenge = randomBytes(8);
      const challenge = challengeMessage(serverChallenge, this.o.hostname, token.length >= 16 ? token.readUInt32LE(12) : 0);
      this.connections.set(sock, { negotiate: Buffer.from(token), challenge, serverChallenge });
      return { ok: false, wwwAuthenticate: ['Negotiate ' + challenge.toString('base64')], challenge: true };
    }
    if (type === 3 && conn.serverChallenge && conn.negotiate && conn.challenge) {
      this.connections.delete(sock);
      return this.acceptAuthenticate(sock, token, conn);
    }
    this.connections.delete(sock);
    return this.deny();
  }

  private acceptAuthenticate(sock: Socket, token: Buffer, conn: Connection): AuthOutcome {
    let auth;
    try {
      auth = parseAuthenticate(token);
    } catch {
      this.stats.refusedCredentials++;
      return this.deny();
    }
    const who = auth.domain ? `${auth.domain}\\${auth.user}` : auth.user;
    const verified = this.userMatches(who) ? verifyAuthenticate(auth, conn.serverChallenge!, this.o.password, { negotiate: conn.negotiate!, challenge: conn.challenge! }) : null;
    if (!verified || !verified.ok) {
      if (verified && verified.reason === 'mic') this.stats.refusedMic++;
      else this.stats.refusedCredentials++;
      return this.deny();
    }
    if (this.o.channelBindings) {
      const sent = clientChannelBindings(auth);
      const level = this.o.config.cbtHardeningLevel;
      if (sent && level !== 'None' && !sent.equals(this.o.channelBindings)) {
        this.stats.refusedChannelBinding++;
        return this.deny();
      }
      if (!sent && level === 'Strict') {
        this.stats.refusedChannelBinding++;
        return this.deny();
      }
      if (sent && sent.equals(this.o.channelBindings)) this.stats.channelBindingMatched++;
      if (!sent) this.stats.channelBindingAbsent++;
    }
    this.stats.ntlmAuthenticated++;
    const sealing = missingSealingFlags(verified.flags) ? undefined : new NtlmSealing(verified.flags, verified.exportedSessionKey, 'server');
    this.connections.set(sock, { authed: true, sealing });
    return { ok: true, sealing };
  }

  private userMatches(given: string): boolean {
    const a = splitUser(given);
    const b = splitUser(this.o.user);
    const host = this.o.hostname.toUpperCase();
    const localDomain = (d: string) => d === '' || d === '.' || d.toUpperCase() === host;
    return a.user.toLowerCase() === b.user.toLowerCase() && (a.domain.toLowerCase() === b.domain.toLowerCase() || (localDomain(a.domain) && localDomain(b.domain)));
  }
}
