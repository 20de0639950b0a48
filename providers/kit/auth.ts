/**
 * How a client proves who it is. An Auth adds headers to each request and,
 * where the scheme allows, gets fresh credentials once after an HTTP 401.
 * Static schemes live here; OAuth2 client credentials in oauth2.ts.
 *
 * Every scheme registers its secrets with the client's Redactor when it is
 * attached, so they can never appear in an error message or a log line.
 */
import type { Clock } from './clock.js';
import type { Redactor } from './redact.js';
import type { RetryPolicy } from './retry.js';

/** What a client shares with its Auth (so a token endpoint gets the same timeouts, clock and redaction). */
export interface AuthContext {
  redactor: Redactor;
  clock: Clock;
  random: () => number;
  retry: RetryPolicy;
  timeoutMs: number;
  maxResponseBytes: number;
  label?: string;
  log: (msg: string) => void;
}

export interface Auth {
  /** Called once by the client that uses this Auth, before the first request. */
  attach(ctx: AuthContext): void;
  /** Headers for the next request (may fetch or renew a token first). */
  headers(): Promise<Record<string, string>>;
  /**
   * Called when a request sent with `rejected` headers got HTTP 401. Resolves
   * true when fresh credentials were obtained and the request may be sent once
   * more; static credentials cannot get better, so they have no refresh.
   */
  refresh?(rejected: Record<string, string>): Promise<boolean>;
  close?(): void;
}

class StaticAuth implements Auth {
  constructor(
    private readonly h: Record<string, string>,
    private readonly secrets: (r: Redactor) => void,
  ) {}

  attach(ctx: AuthContext): void {
    this.secrets(ctx.redactor);
  }

  async headers(): Promise<Record<string, string>> {
    return this.h;
  }
}

/** `Authorization: Bearer <token>` with a long-lived token (Snipe-IT personal access tokens). */
export function bearerAuth(token: string): Auth {
  return new StaticAuth({ authorization: `Bearer ${token}` }, (r) => r.add(token));
}

/** HTTP Basic (opsi user/password, OPNsense key/secret). Credentials are UTF-8, as RFC 7617 `charset="UTF-8"` servers expect. */
export function basicAuth(user: string, password: string): Auth {
  const value = Buffer.from(`${user}:${password}`, 'utf8').toString('base64');
  return new StaticAuth({ authorization: `Basic ${value}` }, (r) => {
    r.add(password);
    r.addBasic(user, password);
  });
}

/** A custom header carrying an API key (`X-API-Key: ...` style). */
export function apiKeyAuth(header: string, key: string): Auth {
  return new StaticAuth({ [header.toLowerCase()]: key }, (r) => r.add(key));
}

/** A login session that the caller can end (after a logout request): the next request logs in again. */
export interface SessionAuth extends Auth {
  forget(): void;
}

/**
 * A login session (AOS-CX `POST /login` -> `Set-Cookie: id=...`): `login`
 * returns the headers that carry the session (e.g. `{ cookie: 'id=...' }`); it
 * runs on first use, and once more after a 401 (session expired or dropped
 * by the device). Concurrent requests share one login. The returned header
 * values are secrets (redacted). `login` usually calls the same ApiClient
 * with `anonymous: true`. `forget()` after a logout (opsi `backend_exit`):
 * the next request logs in afresh instead of sending a dead session.
 */
export function sessionAuth(login: () => Promise<Record<string, string>>): SessionAuth {
  let ctx: AuthContext;
  let current: Record<string, string> | undefined;
  let pending: Promise<Record<string, string>> | undefined;
  const renew = () =>
    (pending ??= login()
      .then((h) => {
        for (const v of Object.values(h)) ctx.redactor.add(v);
        current = h;
        return h;
      })
      .finally(() => (pending = undefined)));
  return {
    attach: (c) => {
      ctx = c;
    },
    headers: async () => current ?? renew(),
    refresh: async (rejected) => {
      // Another request may have logged in again meanwhile.
      if (current && JSON.stringify(Object.values(current)) !== JSON.stringify(Object.keys(current).map((k) => rejected[k]))) return true;
      current = undefined;
      await renew();
      return true;
    },
    forget: () => {
      current = undefined;
    },
  };
}
