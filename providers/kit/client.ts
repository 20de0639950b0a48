/**
 * ApiClient: the HTTPS client every API driver uses for one target.
 *
 * Guarantees (on top of the transport's: pin before any byte, timeouts,
 * bounded and complete responses):
 * - requests go only to the client's own origin: an absolute URL elsewhere
 *   (a paging link, a redirect target) is refused before anything is sent,
 *   so a token never leaves for another host (E_FOREIGN_ORIGIN); redirects
 *   are not followed;
 * - each attempt first takes a slot from the RequestBudget (rate windows,
 *   run cap), then asks the Auth for headers (so a token is fresh even after
 *   a long wait for the budget);
 * - 429/503 and transport failures are retried as retry.ts decides, with the
 *   Clock's sleeps; a 401 makes a refreshable Auth (OAuth2) renew its token and
 *   the request is sent once more;
 * - a 2xx body is parsed as JSON (E_BAD_RESPONSE if it is not JSON) and run
 *   through the envelope check (E_API_ERROR for errors inside HTTP 200);
 * - a non-2xx status the caller did not `accept` becomes the DriverError of
 *   errors.ts (E_AUTH, E_FORBIDDEN, E_NOT_FOUND, E_CONFLICT, E_THROTTLED, ...);
 * - every message and log line passes through the Redactor: no password,
 *   client secret, API key or token appears in them.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { Auth } from './auth.js';
import { RequestBudget, type BudgetLimits } from './budget.js';
import { systemClock, type Clock } from './clock.js';
import { ApiError, assertEnvelopeOk, describeRequest, httpStatusError, type EnvelopeCheck } from './errors.js';
import { Redactor } from './redact.js';
import { DEFAULT_RETRY, isIdempotentMethod, parseRetryAfter, retryDecision, type AttemptOutcome, type RetryPolicy } from './retry.js';
import { HttpsTransport, type RawResponse } from './transport.js';

export interface ApiClientOptions {
  host: string;
  /** Default 443. */
  port?: number;
  /** Pinned server certificate (required by drivers for loopback/lab hosts; see DESIGN.md). */
  tlsFingerprint?: string;
  /** Prefix of every relative path: `/api/v1`, `/v1.0`. */
  basePath?: string;
  auth?: Auth;
  /** Sent with every request (an `accept: application/json` is always added unless overridden). */
  headers?: Record<string, string>;
  /** Errors inside HTTP 200 for this API (errors.ts: statusErrorEnvelope, resultFailedEnvelope). */
  envelope?: EnvelopeCheck;
  /** Per attempt, connect to last byte. Default 30 s. */
  timeoutMs?: number;
  /** Default 64 MiB. */
  maxResponseBytes?: number;
  /** Keep-alive connections to the origin. Default 4. */
  maxSockets?: number;
  /** Close unused connections after this long (default 4 s, below common server keep-alive timeouts). */
  idleTimeoutMs?: number;
  retry?: Partial<RetryPolicy>;
  /** A budget shared with other clients of the same tenant, or limits for a budget of its own. Default: a run cap of 100 000 requests. */
  budget?: RequestBudget | BudgetLimits;
  clock?: Clock;
  /** Jitter source (tests pass a constant). */
  random?: () => number;
  /** Prefix of messages; leave empty in drivers (the engine names the target). */
  label?: string;
  /** Progress notes (retries, waits, token renewals), secrets redacted. */
  log?: (msg: string) => void;
  /** More secret values to keep out of messages (the Auth registers its own). */
  secrets?: (string | undefined)[];
}

export type QueryValue = string | number | boolean | undefined | null;

export interface RequestOptions {
  query?: Record<string, QueryValue>;
  json?: unknown;
  form?: Record<string, string>;
  headers?: Record<string, string>;
  /** Safe to send twice (default: GET, HEAD, PUT, DELETE, OPTIONS). */
  idempotent?: boolean;
  /** Counts against the budget's write window (default: every method but GET, HEAD, OPTIONS). */
  write?: boolean;
  /** Units of the budget's windows this request uses (default 1; a Graph JSON batch of n requests: n). */
  units?: number;
  /** Non-2xx statuses to return instead of throwing (e.g. [404] to learn that an object is absent). */
  accept?: number[];
  /** Override the client's envelope check; false for none. */
  envelope?: EnvelopeCheck | false;
  /** Do not parse the body as JSON. */
  raw?: boolean;
  /** No Authorization for this request. */
  anonymous?: boolean;
  timeoutMs?: number;
}

export interface ApiResponse<T = any> {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
  /** Parsed JSON body (undefined when the body is empty or `raw`). */
  json: T;
}

export interface ClientCounters {
  /** Attempts sent (retries included), retries, 429/503 answers seen, TLS connections opened. */
  requests: number;
  retries: number;
  throttled: number;
  connections: number;
  /** From the budget: admitted requests and writes, and how long the budget made them wait. */
  budgetRequests: number;
  budgetWrites: number;
  budgetWaitedMs: number;
}

const READ_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** `a=1&$top=5`: values URL-encoded, but `$` kept readable in OData system query option names. */
export function encodeQuery(q: Record<string, QueryValue>): string {
  return Object.entries(q)
    .filter(([, v]) => v !== undefined && v !== null)
    .map(([k, v]) => `${encodeURIComponent(k).replace(/^%24/, '$')}=${encodeURIComponent(String(v))}`)
    .join('&');
}

/** The body as JSON, or undefined when it is empty or not JSON. */
function lenientJson(body: Buffer): unknown {
  if (!body.length) return undefined;
  try {
    return JSON.parse(body.toString('utf8'));
  } catch {
    return undefined;
  }
}

export class ApiClient {
  /** `https://host:port` as the URL standard writes it (default port omitted). */
  readonly origin: string;
  readonly budget: RequestBudget;
  readonly redactor = new Redactor();
  private readonly transport: HttpsTransport;
  private readonly clock: Clock;
  private readonly random: () => number;
  private readonly retry: RetryPolicy;
  private readonly counts = { requests: 0, retries: 0, throttled: 0 };
  private readonly log: (msg: string) => void;

  constructor(private readonly o: ApiClientOptions) {
    for (const s of o.secrets ?? []) this.redactor.add(s);
    this.clock = o.clock ?? systemClock;
    this.random = o.random ?? Math.random;
    this.retry = { ...DEFAULT_RETRY, ...o.retry };
    this.log = (msg) => o.log?.(this.redactor.redact(msg));
    this.budget = o.budget instanceof RequestBudget ? o.budget : new RequestBudget({ maxTotal: 100_000, ...o.budget }, { clock: this.clock, label: o.label });
    this.transport = new HttpsTransport({
      host: o.host,
      port: o.port ?? 443,
      tlsFingerprint: o.tlsFingerprint,
      timeoutMs: o.timeoutMs ?? 30_000,
      maxResponseBytes: o.maxResponseBytes ?? 64 * 1024 * 1024,
      maxSockets: o.maxSockets ?? 4,
      idleTimeoutMs: o.idleTimeoutMs,
      label: o.label,
    });
    this.origin = new URL(this.transport.origin).origin;
    o.auth?.attach({
      redactor: this.redactor,
      clock: this.clock,
      random: this.random,
      retry: this.retry,
      timeoutMs: o.timeoutMs ?? 30_000,
      maxResponseBytes: o.maxResponseBytes ?? 64 * 1024 * 1024,
      label: o.label,
      log: this.log,
    });
  }

  /** Counters for benches and tests (a snapshot). */
  counters(): ClientCounters {
    const b = this.budget.counters;
    return { ...this.counts, connections: this.transport.stats.connections, budgetRequests: b.requests, budgetWrites: b.writes, budgetWaitedMs: b.waitedMs };
  }

  /** Path (and query) on this origin for a relative path or a same-origin absolute URL; E_FOREIGN_ORIGIN otherwise. */
  resolve(pathOrUrl: string, query?: Record<string, QueryValue>): string {
    let target: string;
    if (/^[a-z][a-z0-9+.-]*:/i.test(pathOrUrl)) {
      let u: URL;
      try {
        u = new URL(pathOrUrl);
      } catch {
        throw this.error(`not a valid URL: ${JSON.stringify(pathOrUrl.slice(0, 200))}`, 'E_BAD_RESPONSE');
      }
      if (u.origin !== this.origin) {
        throw this.error(`refusing to send a request to ${u.origin}: this client talks only to ${this.origin} (credentials never leave for another origin)`, 'E_FOREIGN_ORIGIN');
      }
      target = u.pathname + u.search;
    } else {
      target = (this.o.basePath ?? '') + (pathOrUrl.startsWith('/') ? pathOrUrl : '/' + pathOrUrl);
    }
    const q = query ? encodeQuery(query) : '';
    return q ? target + (target.includes('?') ? '&' : '?') + q : target;
  }

  private error(message: string, code: string, detail: ApiError['detail'] = {}): ApiError {
    return new ApiError(this.redactor.redact((this.o.label ? `${this.o.label}: ` : '') + message), code, detail);
  }

  /** The same error with every registered secret removed from its message. */
  private scrub(e: ApiError): ApiError {
    const m = this.redactor.redact(e.message);
    return m === e.message ? e : new ApiError(m, e.code, e.detail);
  }

  private body(o: RequestOptions): { body?: Buffer; contentType?: string } {
    if (o.json !== undefined) return { body: Buffer.from(JSON.stringify(o.json), 'utf8'), contentType: 'application/json' };
    if (o.form) return { body: Buffer.from(new URLSearchParams(o.form).toString(), 'utf8'), contentType: 'application/x-www-form-urlencoded' };
    return {};
  }

  private parse(res: RawResponse, what: string): unknown {
    if (res.body.length === 0) return undefined;
    const text = res.body.toString('utf8');
    try {
      return JSON.parse(text);
    } catch (e) {
      const type = String(res.headers['content-type'] ?? 'no content type');
      const hint = /json/i.test(type) ? `invalid JSON (${(e as Error).message}; truncated?)` : `expected JSON, got ${type}`;
      throw this.error(`${what}: ${hint}: ${JSON.stringify(text.slice(0, 120))}`, 'E_BAD_RESPONSE', { status: res.status });
    }
  }

  /** One API call with budget, auth, retries and error mapping; see the module comment. */
  async request<T = any>(method: string, pathOrUrl: string, o: RequestOptions = {}): Promise<ApiResponse<T>> {
    method = method.toUpperCase();
    const path = this.resolve(pathOrUrl, o.query);
    const what = describeRequest(method, path);
    const write = o.write ?? !READ_METHODS.has(method);
    const idempotent = o.idempotent ?? isIdempotentMethod(method);
    const { body, contentType } = this.body(o);
    const auth = o.anonymous ? undefined : this.o.auth;
    let refreshed = false;
    for (let attempt = 1; ; attempt++) {
      await this.budget.acquire(write, o.units ?? 1);
      const authHeaders = auth ? await auth.headers() : {};
      const headers: Record<string, string> = {
        accept: 'application/json',
        ...this.o.headers,
        ...o.headers,
        ...(contentType ? { 'content-type': contentType } : {}),
        ...authHeaders,
      };
      let outcome: AttemptOutcome;
      let res: RawResponse | undefined;
      this.counts.requests++;
      try {
        res = await this.transport.send({ method, path, headers, body, timeoutMs: o.timeoutMs });
      } catch (e) {
        if (!(e instanceof ApiError)) throw e;
        outcome = { error: e };
      }
      if (res) {
        if (res.status === 401 && auth?.refresh && !refreshed) {
          refreshed = true;
          if (await auth.refresh(authHeaders)) {
            this.log(`${what}: HTTP 401, credentials renewed; sending once more`);
            continue;
          }
        }
        const ok = res.status >= 200 && res.status < 300;
        if (ok || o.accept?.includes(res.status)) {
          // an accepted error status may come with any body (HTML, text): its JSON is best effort
          const json = o.raw ? undefined : ok ? this.parse(res, what) : lenientJson(res.body);
          const envelope = o.envelope === false ? undefined : (o.envelope ?? this.o.envelope);
          if (ok && envelope && !o.raw) {
            try {
              assertEnvelopeOk(envelope, json, { method, path, label: this.o.label });
            } catch (e) {
              throw this.scrub(e as ApiError);
            }
          }
          return { status: res.status, headers: res.headers, body: res.body, json: json as T };
        }
        if (res.status === 429 || res.status === 503) this.counts.throttled++;
        outcome = { status: res.status, retryAfterMs: parseRetryAfter(res.headers['retry-after'], this.clock.now()) };
      }
      const d = retryDecision(outcome!, { attempt, idempotent, policy: this.retry, random: this.random });
      if (!d.retry) {
        if ('error' in outcome!) {
          const e = outcome.error;
          throw this.scrub(attempt > 1 ? new ApiError(`${e.message} (after ${attempt} attempts)`, e.code, e.detail) : e);
        }
        const err = httpStatusError(res!.status, {
          method,
          path,
          label: this.o.label,
          body: lenientJson(res!.body) ?? res!.body.toString('utf8'),
          attempts: attempt,
          retryAfterMs: outcome!.retryAfterMs,
        });
        throw this.scrub(d.reason ? new ApiError(`${err.message}; ${d.reason}`, err.code, err.detail) : err);
      }
      this.counts.retries++;
      this.log(`${what}: ${d.reason}; retry ${attempt} of ${this.retry.maxAttempts - 1} in ${(d.delayMs / 1000).toFixed(1)} s`);
      await this.clock.sleep(d.delayMs);
    }
  }

  /** GET and return the JSON body. */
  async get<T = any>(path: string, o: RequestOptions = {}): Promise<T> {
    return (await this.request<T>('GET', path, o)).json;
  }

  async post<T = any>(path: string, json?: unknown, o: RequestOptions = {}): Promise<T> {
    return (await this.request<T>('POST', path, { ...o, json })).json;
  }

  async put<T = any>(path: string, json?: unknown, o: RequestOptions = {}): Promise<T> {
    return (await this.request<T>('PUT', path, { ...o, json })).json;
  }

  async patch<T = any>(path: string, json?: unknown, o: RequestOptions = {}): Promise<T> {
    return (await this.request<T>('PATCH', path, { ...o, json })).json;
  }

  async delete<T = any>(path: string, o: RequestOptions = {}): Promise<T> {
    return (await this.request<T>('DELETE', path, o)).json;
  }

  /** Closes the connection pool (and the Auth's, e.g. the token endpoint's). */
  close(): void {
    this.transport.close();
    this.o.auth?.close?.();
  }
}
