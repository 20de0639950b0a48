/**
 * Errors shared by every API driver: one code per way a call can fail, so the
 * engine, the tests and the user see the same words whatever the system.
 *
 * HTTP status -> code (httpStatusError):
 *   401 E_AUTH       credentials rejected (wrong secret, expired token that a refresh did not cure)
 *   403 E_FORBIDDEN  permission missing, licence missing (Graph), or client blocked (opsi after brute force)
 *   404 E_NOT_FOUND, 409 E_CONFLICT, 429 E_THROTTLED (retries exhausted), 5xx E_SERVER, other E_HTTP
 * Transport: E_TLS_FINGERPRINT, E_TLS, E_CONNECT, E_TIMEOUT, E_CONNECTION_DROPPED,
 *   E_TRUNCATED_RESPONSE, E_RESPONSE_TOO_LARGE, E_BAD_RESPONSE (not the JSON that was promised).
 * Inside HTTP 200: E_API_ERROR (an envelope that says "error"/"failed"), E_RPC (a JSON-RPC error).
 * Kit guards: E_BUDGET_EXHAUSTED (runaway-loop cap), E_PAGING (foreign or looping next link),
 *   E_AMBIGUOUS_LIVE (two live objects share a natural key).
 *
 * Several systems answer errors with HTTP 200 (research sheets in
 * /work/shared/research): Snipe-IT `{"status":"error","messages":...}`,
 * OPNsense `{"result":"failed","validations":{...}}`, opsi JSON-RPC `error`
 * members. An EnvelopeCheck turns such a body into an error message.
 */
import { DriverError } from '../../engine/contract.js';

/** A DriverError from the kit, with what retry logic and callers need to know. */
export class ApiError extends DriverError {
  constructor(
    message: string,
    code: string,
    public readonly detail: {
      /** HTTP status, when a response arrived. */
      status?: number;
      /** True when the request provably never reached the server (refused connection, failed TLS handshake). */
      notSent?: boolean;
      /** Server-requested wait (Retry-After), in ms. */
      retryAfterMs?: number;
    } = {},
  ) {
    super(message, { code });
    this.name = 'DriverError';
  }

  get code(): string {
    return this.opts.code!;
  }
}

/** Where a request went, for messages: `GET /api/v1/licenses` (never the query string: it may carry tokens). */
export function describeRequest(method: string, path: string): string {
  return `${method} ${path.split('?')[0]}`;
}

const MAX_SERVER_TEXT = 300;

function flatten(v: unknown): string {
  if (v == null) return '';
  if (typeof v === 'string') return v;
  if (Array.isArray(v)) return v.map(flatten).filter(Boolean).join('; ');
  if (typeof v === 'object') {
    return Object.entries(v as Record<string, unknown>)
      .map(([k, x]) => `${k}: ${flatten(x)}`)
      .join('; ');
  }
  return String(v);
}

function clip(s: string): string {
  const one = s.replace(/\s+/g, ' ').trim();
  return one.length > MAX_SERVER_TEXT ? one.slice(0, MAX_SERVER_TEXT) + '...' : one;
}

/**
 * The human message a server put into an error body, for the known shapes:
 * Graph `{error:{code,message}}`, `{error:"text"}` (Snipe-IT and opsi 401),
 * Snipe-IT `{messages}`, OPNsense `{message}`, `{errorMessage}` and
 * `{validations}`, JSON-RPC `{error:{message,class}}`. Clipped to 300
 * characters, whitespace collapsed; '' when nothing is recognisable.
 */
export function serverMessage(body: unknown): string {
  if (body == null || typeof body !== 'object') return typeof body === 'string' ? clip(body) : '';
  const b = body as Record<string, any>;
  const parts: string[] = [];
  if (b.error && typeof b.error === 'object') {
    const cls = b.error.class ?? b.error.data?.class;
    parts.push([b.error.code && typeof b.error.code === 'string' ? b.error.code : '', cls ?? '', b.error.message ?? ''].filter(Boolean).join(': '));
  } else if (typeof b.error === 'string') {
    parts.push([b.error, typeof b.error_description === 'string' ? b.error_description : ''].filter(Boolean).join(': '));
  }
  if (b.messages != null) parts.push(flatten(b.messages));
  if (typeof b.errorMessage === 'string') parts.push(b.errorMessage);
  if (typeof b.message === 'string') parts.push(b.message);
  if (b.validations != null) parts.push(flatten(b.validations));
  return clip(parts.filter(Boolean).join('; '));
}

/**
 * The DriverError for an HTTP error status. `label` names the target (may be
 * empty: the engine prefixes the target address), `attempts` how many tries
 * were made (for 429/503). The message never contains request headers or
 * bodies, so no credential can end up in it.
 */
export function httpStatusError(status: number, o: { method: string; path: string; label?: string; body?: unknown; attempts?: number; retryAfterMs?: number }): ApiError {
  const where = (o.label ? `${o.label}: ` : '') + describeRequest(o.method, o.path);
  const said = serverMessage(o.body);
  const http = `HTTP ${status}${said ? `: ${said}` : ''}`;
  const tries = o.attempts && o.attempts > 1 ? ` after ${o.attempts} attempts` : '';
  const detail = { status, retryAfterMs: o.retryAfterMs };
  if (status === 401) return new ApiError(`${where}: credentials rejected (${http}); check the connection's credentials`, 'E_AUTH', detail);
  if (status === 403)
    return new ApiError(`${where}: forbidden (${http}): a permission is missing for these credentials, or the server blocks this client`, 'E_FORBIDDEN', detail);
  if (status === 404) return new ApiError(`${where}: not found (${http})`, 'E_NOT_FOUND', detail);
  if (status === 409) return new ApiError(`${where}: conflict (${http})`, 'E_CONFLICT', detail);
  if (status === 429) return new ApiError(`${where}: still throttled by the server${tries} (${http})`, 'E_THROTTLED', detail);
  if (status >= 500) return new ApiError(`${where}: server error${tries} (${http})`, 'E_SERVER', detail);
  return new ApiError(`${where}: request failed (${http})`, 'E_HTTP', detail);
}

/** Looks at a successful (2xx) JSON body and returns the error it carries, or undefined when it is a success. */
export type EnvelopeCheck = (body: unknown) => string | undefined;

/** `{"status":"error","messages":...}` (Snipe-IT's Helper::formatStandardApiResponse). */
export const statusErrorEnvelope: EnvelopeCheck = (body) => {
  const b = body as Record<string, unknown> | null;
  if (!b || typeof b !== 'object' || b.status !== 'error') return undefined;
  return serverMessage({ messages: b.messages }) || 'status "error" without a message';
};

/** `{"result":"failed","validations":{...}}` (OPNsense's mutable model controllers). */
export const resultFailedEnvelope: EnvelopeCheck = (body) => {
  const b = body as Record<string, unknown> | null;
  if (!b || typeof b !== 'object' || b.result !== 'failed') return undefined;
  return serverMessage({ validations: b.validations }) || 'result "failed" without validation messages';
};

/**
 * Throws E_API_ERROR when `check` finds an error inside a successful response.
 * Call it on every 2xx body of a system that reports errors with HTTP 200.
 */
export function assertEnvelopeOk(check: EnvelopeCheck, body: unknown, o: { method: string; path: string; label?: string }): void {
  const problem = check(body);
  if (problem === undefined) return;
  const where = (o.label ? `${o.label}: ` : '') + describeRequest(o.method, o.path);
  throw new ApiError(`${where}: the server reported an error inside HTTP 200: ${clip(problem)}`, 'E_API_ERROR', { status: 200 });
}
