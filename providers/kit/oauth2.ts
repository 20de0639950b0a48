/**
 * OAuth2 client credentials (RFC 6749 §4.4), as Microsoft Graph uses them:
 * `POST https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token` with a
 * form of client_id, client_secret, scope and grant_type; the answer is
 * `{"token_type":"Bearer","expires_in":3599,"access_token":"..."}`
 * (research/intune-graph.md; corpus graph/common/token_client_credentials.json).
 *
 * Guarantees:
 * - the token endpoint may be on another host and port than the API (Graph's
 *   login host); it gets its own connection pool, its own optional pin, the
 *   API client's timeouts, retries and clock, and a budget of its own;
 * - one token per Auth instance (one per client), fetched on first use,
 *   renewed `skewMs` before `expires_in` runs out, and renewed once when the
 *   API answers 401 to it (revoked or expired early); concurrent requests share
 *   one token request;
 * - the client secret and every token are registered with the redactor
 *   before they are used, so neither can appear in an error or a log;
 * - a rejected token request (400/401, e.g. `invalid_client`) is E_AUTH with
 *   the server's error code and description.
 */
import type { Auth, AuthContext } from './auth.js';
import { ApiClient } from './client.js';
import { ApiError, serverMessage } from './errors.js';

export interface ClientCredentialsOptions {
  /** Full URL of the token endpoint. */
  tokenUrl: string;
  clientId: string;
  clientSecret: string;
  /** e.g. `https://graph.microsoft.com/.default` */
  scope?: string;
  /** Pin for the token endpoint's certificate (lab: the simulator's; production: usually none, CAs decide). */
  tlsFingerprint?: string;
  /** Renew this long before the token expires. Default 60 s (or a tenth of a short lifetime). */
  skewMs?: number;
}

/** Lifetime assumed when a token response has no `expires_in` (RFC 6749 makes it optional). */
const DEFAULT_LIFETIME_S = 300;

interface Token {
  value: string;
  /** Clock time after which it is not used any more. */
  renewAt: number;
}

class ClientCredentialsAuth implements Auth {
  private ctx!: AuthContext;
  private http!: ApiClient;
  private token?: Token;
  private pending?: Promise<Token>;
  private readonly url: URL;
  /** Token requests made so far (for tests and benches). */
  fetched = 0;

  constructor(private readonly o: ClientCredentialsOptions) {
    this.url = new URL(o.tokenUrl);
    if (this.url.protocol !== 'https:') throw new ApiError(`OAuth2 token URL must be https: ${this.url.origin}`, 'E_AUTH', { notSent: true });
  }

  attach(ctx: AuthContext): void {
    this.ctx = ctx;
    ctx.redactor.add(this.o.clientSecret);
    this.http = new ApiClient({
      host: this.url.hostname.replace(/^\[|\]$/g, ''),
      port: this.url.port ? Number(this.url.port) : 443,
      tlsFingerprint: this.o.tlsFingerprint,
      timeoutMs: ctx.timeoutMs,
      maxResponseBytes: Math.min(ctx.maxResponseBytes, 1024 * 1024),
      maxSockets: 1,
      retry: ctx.retry,
      clock: ctx.clock,
      random: ctx.random,
      label: ctx.label,
      log: ctx.log,
      secrets: [this.o.clientSecret],
    });
  }

  async headers(): Promise<Record<string, string>> {
    const t = this.token && this.ctx.clock.now() < this.token.renewAt ? this.token : await this.renew();
    return { authorization: `Bearer ${t.value}` };
  }

  async refresh(rejected: Record<string, string>): Promise<boolean> {
    // Another request may have renewed the token meanwhile: then just use that one.
    if (this.token && rejected.authorization !== `Bearer ${this.token.value}`) return true;
    this.token = undefined;
    await this.renew();
    return true;
  }

  private renew(): Promise<Token> {
    this.pending ??= this.fetch().finally(() => (this.pending = undefined));
    return this.pending;
  }

  private async fetch(): Promise<Token> {
    this.fetched++;
    const form: Record<string, string> = { client_id: this.o.clientId, client_secret: this.o.clientSecret, grant_type: 'client_credentials' };
    if (this.o.scope) form.scope = this.o.scope;
    const res = await this.http.request('POST', this.url.pathname + this.url.search, { form, anonymous: true, accept: [400, 401], idempotent: true });
    const where = `OAuth2 token request to ${this.url.origin}${this.url.pathname}`;
    const label = this.ctx.label ? `${this.ctx.label}: ` : '';
    if (res.status !== 200) {
      const said = serverMessage(res.json);
      throw new ApiError(this.ctx.redactor.redact(`${label}${where} rejected (HTTP ${res.status}${said ? `: ${said}` : ''}); check clientId, clientSecret and tenant`), 'E_AUTH', {
        status: res.status,
      });
    }
    const b = (res.json ?? {}) as Record<string, unknown>;
    const value = b.access_token;
    const type = typeof b.token_type === 'string' ? b.token_type.toLowerCase() : 'bearer';
    const lifetimeS = b.expires_in === undefined ? DEFAULT_LIFETIME_S : Number(b.expires_in);
    if (typeof value !== 'string' || value === '' || type !== 'bearer' || !(lifetimeS > 0)) {
      throw new ApiError(`${label}${where}: answer is not a bearer token (fields access_token, token_type, expires_in)`, 'E_BAD_RESPONSE', { status: 200 });
    }
    this.ctx.redactor.add(value);
    const lifetimeMs = lifetimeS * 1000;
    const skew = Math.min(this.o.skewMs ?? 60_000, lifetimeMs / 10);
    this.token = { value, renewAt: this.ctx.clock.now() + lifetimeMs - skew };
    this.ctx.log(`OAuth2 token obtained, valid for ${Math.round(lifetimeS)} s`);
    return this.token;
  }

  close(): void {
    this.http?.close();
  }
}

/** OAuth2 client-credentials Auth; see the module comment for its guarantees. `fetched` counts token requests. */
export function clientCredentialsAuth(o: ClientCredentialsOptions): Auth & { readonly fetched: number } {
  return new ClientCredentialsAuth(o);
}
